/**
 * Item 5 of queries.bench.ts: the read side down. The consistency role of a deployment is stopped, a few
 * profiles are changed (the views now lag the write model), and once the gateway sees the read side behind
 * (READ_FALLBACK_STALENESS_MS without a heartbeat) every QueryService read (the eight unary reads of a user's
 * data, random user, random read) runs in closed-loop lanes for a while, on the deployment's gateway (the
 * service's default fallback bound, READ_FALLBACK_CONCURRENCY) and, interleaved, on a second gateway whose
 * bound is as large as the lanes (an extra row, to tell the bound from the path). Each answer's `meta.source`
 * is counted, and the CPU each gateway and Postgres spent per read during its slices (cpu-meter.ts); a sample
 * of the write-model answers (and the changed profiles) is kept. Then the role is started
 * again, and once the views have caught up with the changes each sampled read is made again from the views
 * (bypass_cache): the answers must be equal.
 */
import type { GrpcClient } from "../src/gateway";
import { AnswerSource } from "../src/gen/clone/v1/enums_pb";
import type { QueryService } from "../src/gen/clone/v1/query_service_pb";
import { createCpuMeter } from "./cpu-meter";
import { runInterleaved } from "./interleave";
import type { Deployment } from "./query-deployment";
import type { QueryBenchOptions } from "./query-options";
import type { OutageResult, OutageRow } from "./query-outage-report";
import { asUser } from "./query-workloads";
import { percentile, summarize } from "./stats";

/** Users the reads are spread over (the latency matrix's, whose tokens the gateway has verified). */
const OUTAGE_USERS = 2_000;
/** Profiles changed while the role is stopped. */
const CHANGED = 20;
/** Every this many-th write-model answer of the load is kept for the comparison, at most SAMPLES_MAX per row. */
const SAMPLE_EVERY = 10;
const SAMPLES_MAX = 300;
/** How long to wait for the gateway to fall back, and for the views to catch up, ms. */
const SWITCH_TIMEOUT_MS = 90_000;

type ReadMethod = Parameters<GrpcClient<typeof QueryService>["call"]>[0];
interface Sample {
  readonly method: ReadMethod;
  readonly request: Record<string, unknown>;
  readonly userId: string;
  readonly answer: string;
}

/** Every unary read of a seeded user's data (the seed's documents mention a garden). */
const readsOf = (userId: string, conversationId: string): [ReadMethod, Record<string, unknown>][] => [
  ["getUserProfile", { userId }],
  ["getUserStatistics", { userId }],
  ["listDocuments", { userId, pageSize: 5 }],
  ["searchDocuments", { userId, query: "garden" }],
  ["listConversations", { userId, pageSize: 20 }],
  ["getConversationHistory", { conversationId, pageSize: 10 }],
  ["listVoiceModels", { userId }],
  ["listFaceModels", { userId }],
];

/** An answer without its meta, as comparable text. */
export function answerText(answer: Record<string, unknown>): string {
  const { meta: _meta, ...rest } = answer;
  return JSON.stringify(rest, (_k, v) => (typeof v === "bigint" ? v.toString() : v));
}

/** Item 5 on deployment `d` (its consistency role is running in keyed mode again afterwards). */
export async function measureOutage(
  options: QueryBenchOptions,
  d: Deployment,
  startGateway: (
    env: Record<string, string>,
  ) => Promise<{ address: string; pid: number; stop(): Promise<void> }>,
  connect: (address: string) => GrpcClient<typeof QueryService>,
  progress: (line: string) => void,
): Promise<OutageResult> {
  const { tokens, command } = d.target;
  const seeded = d.seed.users.slice(0, OUTAGE_USERS);
  await tokens.mintAll(seeded.map((u) => u.userId));
  const wide = await startGateway({ READ_FALLBACK_CONCURRENCY: String(options.outageWideBound) });
  const wideClient = connect(wide.address);
  try {
    const t = performance.now();
    await d.stack.stopConsistency();
    let token = "";
    for (const u of seeded.slice(0, CHANGED)) {
      const r = await command.call(
        "updateUserProfile",
        { userId: u.userId, displayName: `Outage ${u.userId.slice(0, 8)}` },
        asUser(tokens, u.userId),
      );
      token = r.result?.consistencyToken ?? token;
    }
    const probe = seeded[0] as (typeof seeded)[number];
    for (const client of [d.target.query, wideClient]) {
      await until(async () => {
        const r = await client.call("getUserProfile", { userId: probe.userId }, asUser(tokens, probe.userId));
        return r.meta?.source === AnswerSource.WRITE_MODEL;
      }, "the gateway to answer from the write model");
    }
    progress(`outage: consistency role stopped, gateways falling back after ${seconds(t)} s`);

    const rows = [
      { name: "default", bound: options.outageDefaultBound, client: d.target.query },
      { name: "wide", bound: options.outageWideBound, client: wideClient },
    ] as const;
    const counts = new Map(rows.map((r) => [r.name, new Map<AnswerSource, number>()]));
    const samples = new Map(rows.map((r) => [r.name, [] as Sample[]]));
    const byRead = new Map(rows.map((r) => [r.name, new Map<string, number[]>()]));
    const opOf = (row: (typeof rows)[number]) => async (_lane: number, seq: number) => {
      const u = seeded[Math.floor(Math.random() * seeded.length)] as (typeof seeded)[number];
      const reads = readsOf(u.userId, u.conversationId);
      const [method, request] = reads[Math.floor(Math.random() * reads.length)] as (typeof reads)[number];
      const t0 = performance.now();
      const answer = (await row.client.call(method, request as never, asUser(tokens, u.userId))) as Record<
        string,
        unknown
      > & { meta?: { source: AnswerSource } };
      const latencies = byRead.get(row.name) as Map<string, number[]>;
      const ms = latencies.get(method) ?? [];
      ms.push(performance.now() - t0);
      latencies.set(method, ms);
      const source = answer.meta?.source ?? AnswerSource.UNSPECIFIED;
      const c = counts.get(row.name) as Map<AnswerSource, number>;
      c.set(source, (c.get(source) ?? 0) + 1);
      const kept = samples.get(row.name) as Sample[];
      if (source === AnswerSource.WRITE_MODEL && seq % SAMPLE_EVERY === 0 && kept.length < SAMPLES_MAX)
        kept.push({ method, request, userId: u.userId, answer: answerText(answer) });
    };
    // Each slice runs one gateway's reads while the other is idle: the database's backends count for it.
    const gatewayPid = d.stack.pids().get("gateway");
    const meter = createCpuMeter({
      pids: new Map([
        ...(gatewayPid === undefined ? [] : [["default", gatewayPid] as const]),
        ["wide", wide.pid],
      ]),
      database: { pool: d.db.pool, name: d.db.name },
    });
    const measured = await runInterleaved(
      rows.map((r) => ({ name: r.name, op: opOf(r) })),
      options.outageConcurrency,
      options.outageMs,
      options.slices,
      meter,
    );
    // The changed profiles, from the write model while the views still lack them.
    const changed: Sample[] = [];
    for (const u of seeded.slice(0, CHANGED)) {
      const r = await d.target.query.call("getUserProfile", { userId: u.userId }, asUser(tokens, u.userId));
      if (r.meta?.source === AnswerSource.WRITE_MODEL)
        changed.push({
          method: "getUserProfile",
          request: { userId: u.userId },
          userId: u.userId,
          answer: answerText(r),
        });
    }

    const t2 = performance.now();
    await d.stack.startConsistency("keyed");
    await until(async () => {
      const r = await d.target.query.call(
        "getUserProfile",
        { userId: probe.userId, options: { minConsistencyToken: token, bypassCache: true } },
        asUser(tokens, probe.userId),
      );
      return r.meta?.source === AnswerSource.VIEW;
    }, "the views to reach the changes");
    // A read with a token the views reached skips the staleness check: also wait for the gateway to have the
    // new role's heartbeat (a read without a token answered from the views), or it would still fall back.
    await until(async () => {
      const r = await d.target.query.call(
        "getUserProfile",
        { userId: probe.userId, options: { bypassCache: true } },
        asUser(tokens, probe.userId),
      );
      return r.meta?.source === AnswerSource.VIEW;
    }, "the gateway to see the read side caught up");
    progress(`outage: consistency role back, views caught up in ${seconds(t2)} s`);

    /** How many of `kept` the views answer equally now, and the first differences. */
    const compare = async (kept: readonly Sample[]) => {
      let equal = 0;
      const differences: string[] = [];
      for (const s of kept) {
        const r = await d.target.query.call(
          s.method,
          { ...s.request, options: { minConsistencyToken: token, bypassCache: true } } as never,
          asUser(tokens, s.userId),
        );
        const source = (r as { meta?: { source: AnswerSource } }).meta?.source ?? AnswerSource.UNSPECIFIED;
        if (source === AnswerSource.VIEW && answerText(r as Record<string, unknown>) === s.answer) equal++;
        else if (differences.length < 3)
          differences.push(`${s.method} ${JSON.stringify(s.request)} (from ${AnswerSource[source]})`);
      }
      return { samples: kept.length, equal, differences };
    };
    const result: OutageRow[] = [];
    for (const row of rows) {
      const m = measured.get(row.name);
      if (!m) continue;
      const ops = m.load.latenciesMs.length;
      result.push({
        gateway: row.name === "default" ? "the deployment's gateway" : "a second gateway",
        bound: row.bound,
        summary: summarize(m.load),
        ...(m.cpu && ops > 0
          ? {
              cpuPerRead: {
                gatewayMs: (m.cpu.byProcess.get(row.name) ?? 0) / ops,
                postgresMs: (m.cpu.byProcess.get("postgres") ?? 0) / ops,
              },
            }
          : {}),
        errorSamples: m.load.errorSamples,
        sources: counts.get(row.name) as Map<AnswerSource, number>,
        p99ByRead: new Map(
          [...(byRead.get(row.name) as Map<string, number[]>)].map(([method, ms]) => [
            method,
            percentile(Float64Array.from(ms).sort(), 99),
          ]),
        ),
        comparison: await compare(samples.get(row.name) as Sample[]),
      });
    }
    return {
      rows: result,
      changed: await compare(changed),
      concurrency: options.outageConcurrency,
      windowMs: options.outageMs,
      users: seeded.length,
    };
  } finally {
    wideClient.close();
    await wide.stop();
  }
}

const seconds = (since: number) => ((performance.now() - since) / 1000).toFixed(1);

async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + SWITCH_TIMEOUT_MS;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(250);
  }
}
