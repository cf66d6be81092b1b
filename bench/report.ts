import type { CpuSample } from "./cpu-meter";
import type { MatrixOutput } from "./matrix";
import type { PathBreakdown } from "./path-probe";
import type { Summary } from "./stats";

/** The workloads of a row, in print order. */
export const workloads = ["e2e", "emmett", "emmett-grpc", "echo", "insert", "js-publish"] as const;
/** A workload name. */
export type Workload = (typeof workloads)[number];

const labels: Record<Workload, string> = {
  e2e: "e2e command (gRPC → gateway → JetStream → worker → PG → reply)",
  echo: "bare grpc-js echo (child process)",
  insert: "bare pg BEGIN; INSERT; COMMIT",
  "js-publish": "bare JetStream publish + ack",
  emmett: "peer: Emmett command handler on its Postgres event store, in process",
  "emmett-grpc": "peer: the same behind a grpc-js server (child process, JWT verified)",
};

/** Measured cells by concurrency and workload. */
export type Results = Map<number, Map<Workload, Summary>>;

/**
 * The targets against the peers (emmett-peer.ts), what a team would build instead: at c=64 e2e commands/s at
 * least `vsGrpc` × the peer behind gRPC and `vsInProcess` × the peer in process; at c=1 e2e p50 at most
 * `maxVsGrpc` × the peer behind gRPC.
 */
export const peerTargets = {
  throughput: { concurrency: 64, vsGrpc: 1.5, vsInProcess: 1.0 },
  latency: { concurrency: 1, maxVsGrpc: 1.0 },
} as const;

/** The first targets, as ratios to the bare baselines. */
export const targets = {
  /** e2e ops/s ÷ insert-transaction ops/s at this concurrency must be at least `min`. */
  throughput: { concurrency: 64, min: 0.5 },
  /** e2e p50 ÷ (echo p50 + insert p50) at this concurrency must be at most `max`. */
  latency: { concurrency: 1, max: 3 },
} as const;

const fmt = (n: number, digits: number) => (Number.isFinite(n) ? n.toFixed(digits) : "n/a");

/** The markdown table; `insertNotes` (by concurrency) are appended to the insert rows, e.g. the pool size. */
export function formatTable(results: Results, insertNotes: ReadonlyMap<number, string> = new Map()): string {
  const lines = ["| concurrency | workload | ops/s | p50 ms | p99 ms |", "|---:|---|---:|---:|---:|"];
  for (const [concurrency, row] of results) {
    for (const workload of workloads) {
      const s = row.get(workload);
      if (!s) continue;
      const note = workload === "insert" ? insertNotes.get(concurrency) : undefined;
      const extra = [note, s.errors > 0 ? `${s.errors} errors` : undefined].filter((x) => x !== undefined);
      const suffix = extra.length > 0 ? ` (${extra.join(", ")})` : "";
      lines.push(
        `| ${concurrency} | ${labels[workload]}${suffix} | ${fmt(s.opsPerSecond, 0)} | ${fmt(s.p50Ms, 2)} | ${fmt(s.p99Ms, 2)} |`,
      );
    }
  }
  return lines.join("\n");
}

/** `workload` ops/s ÷ insert-transaction ops/s at the throughput target's concurrency; NaN when unmeasured. */
function throughputRatio(results: Results, workload: Workload): number {
  const row = results.get(targets.throughput.concurrency);
  const w = row?.get(workload);
  const insert = row?.get("insert");
  return w && insert ? w.opsPerSecond / insert.opsPerSecond : Number.NaN;
}

/** `workload` p50 ÷ (echo p50 + insert p50) at the latency target's concurrency; NaN when unmeasured. */
function latencyRatio(results: Results, workload: Workload): number {
  const row = results.get(targets.latency.concurrency);
  const w = row?.get(workload);
  const echo = row?.get("echo");
  const insert = row?.get("insert");
  return w && echo && insert ? w.p50Ms / (echo.p50Ms + insert.p50Ms) : Number.NaN;
}

/** The two ratio lines with PASS/FAIL (or n/a when a needed cell was not measured). */
export function formatVerdicts(results: Results): string {
  const t = targets.throughput;
  const throughput = throughputRatio(results, "e2e");
  const l = targets.latency;
  const latency = latencyRatio(results, "e2e");
  const verdict = (ok: boolean, value: number) => (Number.isNaN(value) ? "n/a" : ok ? "PASS" : "FAIL");
  return [
    `throughput @${t.concurrency}: e2e ops/s / insert-txn ops/s = ${fmt(throughput, 2)} ` +
      `(target >= ${t.min}) ${verdict(throughput >= t.min, throughput)}`,
    `latency @${l.concurrency}: e2e p50 / (echo p50 + insert p50) = ${fmt(latency, 2)} ` +
      `(target <= ${l.max}) ${verdict(latency <= l.max, latency)}`,
  ].join("\n");
}

/** The peer targets' ratios with PASS/FAIL (n/a when a needed cell was not measured), or undefined without peers. */
export function formatPeerVerdicts(results: Results): string | undefined {
  if (![...results.values()].some((row) => row.has("emmett") || row.has("emmett-grpc"))) return undefined;
  const t = peerTargets.throughput;
  const at = (c: number, w: Workload) => results.get(c)?.get(w);
  const rate = (w: Workload) => {
    const e2e = at(t.concurrency, "e2e");
    const peer = at(t.concurrency, w);
    return e2e && peer ? e2e.opsPerSecond / peer.opsPerSecond : Number.NaN;
  };
  const l = peerTargets.latency;
  const e2e1 = at(l.concurrency, "e2e");
  const grpc1 = at(l.concurrency, "emmett-grpc");
  const latency = e2e1 && grpc1 ? e2e1.p50Ms / grpc1.p50Ms : Number.NaN;
  const verdict = (ok: boolean, value: number) => (Number.isNaN(value) ? "n/a" : ok ? "PASS" : "FAIL");
  const vsGrpc = rate("emmett-grpc");
  const vsInProcess = rate("emmett");
  return [
    `vs peer @${t.concurrency}: e2e ops/s / Emmett-behind-grpc ops/s = ${fmt(vsGrpc, 2)} ` +
      `(target >= ${t.vsGrpc}) ${verdict(vsGrpc >= t.vsGrpc, vsGrpc)}`,
    `vs peer @${t.concurrency}: e2e ops/s / Emmett-in-process ops/s = ${fmt(vsInProcess, 2)} ` +
      `(target >= ${t.vsInProcess}) ${verdict(vsInProcess >= t.vsInProcess, vsInProcess)}`,
    `vs peer @${l.concurrency}: e2e p50 / Emmett-behind-grpc p50 = ${fmt(latency, 2)} ` +
      `(target <= ${l.maxVsGrpc}) ${verdict(latency <= l.maxVsGrpc, latency)}`,
  ].join("\n");
}

/** CPU per operation of each workload at each concurrency, as the matrix measured it. */
export type CpuByWorkload = ReadonlyMap<number, ReadonlyMap<Workload, { sample: CpuSample; ops: number }>>;

/** Milliseconds of CPU of every measured process in a sample. */
function cpuTotal(sample: CpuSample): number {
  return [...sample.byProcess.values()].reduce((a, b) => a + b, 0);
}

/**
 * Where the e2e time goes, per concurrency: mean ms of each segment of the path (see path-probe.ts), measured in
 * a probed pass of `passMs` after the timed cells, not in them.
 */
export function formatBreakdown(breakdowns: ReadonlyMap<number, PathBreakdown>, passMs: number): string {
  const lines = [
    `where e2e time goes (mean ms per command; from a separate probed pass of ${fmt(passMs / 1000, 1)} s of e2e ` +
      "alone after the timed cells at each concurrency, with the path observer subscribed and every command " +
      "stamped, so not the table's e2e cells; segments add up to that pass's mean latency):",
    "| concurrency | client → gateway → JetStream publish | JetStream → worker → txn start | txn start → worker reply | reply → gateway → client | total | commands |",
    "|---:|---:|---:|---:|---:|---:|---:|",
  ];
  for (const [concurrency, b] of breakdowns) {
    const total = b.gatewayIn + b.toTransaction + b.transaction + b.gatewayOut;
    lines.push(
      `| ${concurrency} | ${fmt(b.gatewayIn, 2)} | ${fmt(b.toTransaction, 2)} | ${fmt(b.transaction, 2)} | ` +
        `${fmt(b.gatewayOut, 2)} | ${fmt(total, 2)} | ${b.commands} |`,
    );
  }
  return lines.join("\n");
}

/** Processes in the CPU table, in print order. */
const cpuColumns = [
  "bench client",
  "gateway",
  "worker",
  "relay",
  "echo server",
  "emmett server",
  "nats-server",
  "postgres",
];

/**
 * CPU per operation by process, and how busy our processes and the whole machine were (in cores) while each
 * workload ran: `ops` is every successful operation of its slices, including those finished after the window.
 */
export function formatCpu(cpu: CpuByWorkload): string {
  const lines = [
    "CPU per operation (ms of CPU, summed over cores) by process, and cores busy while it ran:",
    `| concurrency | workload | total | ${cpuColumns.join(" | ")} | ours, cores | machine, cores |`,
    `|---:|---|---:|${cpuColumns.map(() => "---:|").join("")}---:|---:|`,
  ];
  for (const [concurrency, row] of cpu) {
    for (const workload of workloads) {
      const c = row.get(workload);
      if (!c || c.ops === 0) continue;
      const per = (ms: number) => fmt(ms / c.ops, 3);
      const ours = cpuTotal(c.sample);
      const cells = cpuColumns.map((p) => {
        const ms = c.sample.byProcess.get(p);
        return ms === undefined ? "" : per(ms);
      });
      lines.push(
        `| ${concurrency} | ${workload} | ${per(ours)} | ${cells.join(" | ")} | ` +
          `${fmt(ours / c.sample.wallMs, 2)} | ${fmt(c.sample.machineBusyMs / c.sample.wallMs, 2)} |`,
      );
    }
  }
  return lines.join("\n");
}

const optional = (line: string | undefined) => (line === undefined ? [] : [line]);

/** The whole printed report. */
export function formatReport(m: MatrixOutput, setting: string): string {
  const batching = [...m.batching]
    .map(
      ([c, b]) =>
        `c=${c}: ${b.events} events in ${b.transactions} transactions ` +
        `(${fmt(b.events / Math.max(1, b.transactions), 1)} commands per commit), ` +
        `${b.published} published in ${b.relayRounds} relay rounds (${fmt(b.published / Math.max(1, b.relayRounds), 1)} a round)`,
    )
    .join("; ");
  return [
    "",
    formatTable(m.results, m.insertNotes),
    "",
    ...optional(formatPeerVerdicts(m.results)),
    formatVerdicts(m.results),
    "",
    formatBreakdown(m.breakdowns, m.probedPassMs),
    "",
    ...(m.cpu.size > 0 && [...m.cpu.values()].some((r) => r.size > 0) ? [formatCpu(m.cpu), ""] : []),
    `group commit in the worker and the relay's rounds (the timed e2e slices): ${batching}`,
    `(${setting})`,
  ].join("\n");
}
