/**
 * The measurement proper: for each concurrency, the workloads interleaved (interleave.ts), unprobed: these are
 * the timed cells of the table and the ratios (e2e, the peers, and the echo, insert and JetStream-publish
 * baselines). Then the command path's batching in those cells (from the events they wrote),
 * and then a separate probed pass, e2e alone at the same concurrency with the path probe on (path-probe.ts),
 * which is all the "where e2e time goes" breakdown is taken from: the probe's subscriptions and stamps cost
 * CPU, so they are kept out of the cells they explain.
 */
import type pg from "pg";
import type { CommandObserver } from "./command-workload";
import { type CommitStats, commitProbe } from "./commit-probe";
import type { CpuMeter, CpuSample } from "./cpu-meter";
import { prepareInsertWorkload } from "./insert-workload";
import { runInterleaved } from "./interleave";
import { type Operation, runClosedLoop } from "./load";
import type { PathBreakdown, PathProbe } from "./path-probe";
import type { Results, Workload } from "./report";
import { type Summary, summarize } from "./stats";

/** What the matrix needs. */
export interface MatrixInput {
  readonly concurrencies: readonly number[];
  readonly durationMs: number;
  readonly slices: number;
  readonly maxPool: number;
  /** The workloads other than the bare insert, whose pool is sized per concurrency here. */
  readonly ops: {
    readonly e2e: Operation;
    readonly echo: Operation;
    readonly jsPublish?: Operation;
    /** The peer in the bench process, and behind gRPC (emmett-peer.ts). */
    readonly emmett?: Operation;
    readonly emmettGrpc?: Operation;
  };
  readonly database: { readonly url: string; readonly pool: pg.Pool };
  readonly probe: PathProbe;
  /** The e2e mix reporting to the probe's observer, for the probed pass only. */
  readonly probedE2e: (observer: CommandObserver) => Operation;
  readonly meter: CpuMeter | undefined;
  readonly progress: (line: string) => void;
}

/** Everything measured, by concurrency. */
export interface MatrixOutput {
  readonly results: Results;
  /** Insert pool size per concurrency. */
  readonly insertNotes: Map<number, string>;
  /** Where e2e time goes, per concurrency, from the probed pass (not the timed cells). */
  readonly breakdowns: Map<number, PathBreakdown>;
  /** Duration of each probed pass, ms: one slice, at least {@link MIN_PROBED_PASS_MS}. */
  readonly probedPassMs: number;
  /** Commands per commit of the e2e slices, per concurrency. */
  readonly batching: Map<number, CommitStats>;
  readonly cpu: Map<number, Map<Workload, { sample: CpuSample; ops: number }>>;
}

/** Shortest probed pass, ms, so that even short runs see enough commands whole. */
export const MIN_PROBED_PASS_MS = 1_000;

/** Runs every cell, and a probed pass after the cells of each concurrency. */
export async function runMatrix(input: MatrixInput): Promise<MatrixOutput> {
  const out: MatrixOutput = {
    results: new Map(),
    insertNotes: new Map(),
    breakdowns: new Map(),
    probedPassMs: Math.max(MIN_PROBED_PASS_MS, input.durationMs / input.slices),
    batching: new Map(),
    cpu: new Map(),
  };
  for (const concurrency of input.concurrencies) {
    await runTimedCells(input, concurrency, out);
    out.breakdowns.set(concurrency, await probedPass(input, concurrency, out.probedPassMs));
  }
  return out;
}

/** The interleaved, unprobed cells of one concurrency, and the batching of their e2e slices, into `out`. */
async function runTimedCells(input: MatrixInput, concurrency: number, out: MatrixOutput): Promise<void> {
  const size = Math.min(concurrency, input.maxPool);
  const insert = await prepareInsertWorkload(input.database.url, size, input.database.pool);
  try {
    const committed = await commitProbe(input.database.pool);
    const measured = await runInterleaved<Workload>(
      [
        { name: "e2e", op: input.ops.e2e },
        { name: "echo", op: input.ops.echo },
        { name: "insert", op: insert.op },
        ...(input.ops.jsPublish ? [{ name: "js-publish" as const, op: input.ops.jsPublish }] : []),
        ...(input.ops.emmett ? [{ name: "emmett" as const, op: input.ops.emmett }] : []),
        ...(input.ops.emmettGrpc ? [{ name: "emmett-grpc" as const, op: input.ops.emmettGrpc }] : []),
      ],
      concurrency,
      input.durationMs,
      input.slices,
      input.meter,
    );
    // Only the e2e slices write events, so these are the command path's own numbers at this concurrency
    // (taken before the probed pass writes more).
    out.batching.set(concurrency, await committed());
    out.insertNotes.set(concurrency, `pool ${insert.poolSize}`);
    const row = new Map<Workload, Summary>();
    const cpuRow = new Map<Workload, { sample: CpuSample; ops: number }>();
    out.results.set(concurrency, row);
    out.cpu.set(concurrency, cpuRow);
    for (const [workload, { load, cpu }] of measured) {
      const s = summarize(load);
      row.set(workload, s);
      if (cpu) cpuRow.set(workload, { sample: cpu, ops: load.latenciesMs.length });
      const errors = s.errors > 0 ? `, ${s.errors} errors: ${load.errorSamples.join(" | ")}` : "";
      input.progress(
        `c=${concurrency} ${workload}: ${s.opsPerSecond.toFixed(0)} ops/s, p50 ${s.p50Ms.toFixed(2)} ms, ` +
          `p99 ${s.p99Ms.toFixed(2)} ms${errors}`,
      );
    }
  } finally {
    await insert.close();
  }
}

/** e2e alone, closed loop at `concurrency` for `durationMs`, with the path probe on; its breakdown. */
async function probedPass(
  input: MatrixInput,
  concurrency: number,
  durationMs: number,
): Promise<PathBreakdown> {
  const { result, breakdown } = await input.probe.measure(input.database.pool, (observer) =>
    runClosedLoop(concurrency, durationMs, input.probedE2e(observer)),
  );
  const s = summarize(result);
  input.progress(
    `c=${concurrency} probed e2e pass: ${s.opsPerSecond.toFixed(0)} ops/s, p50 ${s.p50Ms.toFixed(2)} ms, ` +
      `${breakdown.commands} commands seen whole${s.errors > 0 ? `, ${s.errors} errors` : ""}`,
  );
  return breakdown;
}
