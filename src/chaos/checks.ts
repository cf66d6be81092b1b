/**
 * The correctness checks run after each scenario, once the deployment is quiet: every acknowledged command
 * applied exactly once, each lane's turns gapless and in send order, the outbox equal to the EVENTS stream (same
 * events, same order, no gap, no duplicate), every view equal to its source, the COMMANDS queue empty, no
 * process other than the killed one exited, no process printed an unhandled error, and the canary read its own
 * writes.
 */
import { DeliverPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import type pg from "pg";
import { comparePoints, type StreamPoint } from "../contracts";
import { streamNames } from "../transport/jetstream/streams";
import type { CanaryTick } from "./canary";
import type { DeployedProcess } from "./deployment";
import type { AckedCommand, UnackedCommand } from "./load";

/** The outcome of one check. */
export interface CheckResult {
  readonly ok: boolean;
  /** What failed (empty when ok). */
  readonly detail: string;
}

/** The names of the checks, in table order. */
export const checkNames = [
  "exactly once",
  "turns in order",
  "outbox = stream",
  "views = source",
  "queue empty",
  "no other exit",
  "no unhandled",
  "read own write",
] as const;
/** One check's name. */
export type CheckName = (typeof checkNames)[number];

/** What the checks look at. */
export interface CheckInput {
  readonly pool: pg.Pool;
  readonly natsUrl: string;
  readonly prefix: string;
  readonly acked: readonly AckedCommand[];
  readonly unacked: readonly UnackedCommand[];
  readonly conversations: readonly string[];
  readonly processes: readonly DeployedProcess[];
  readonly canary: readonly CanaryTick[];
}

const pass: CheckResult = { ok: true, detail: "" };
const fail = (detail: string): CheckResult => ({ ok: false, detail });
const sample = (items: readonly unknown[]): string =>
  `${items.slice(0, 3).map(String).join(", ")}${items.length > 3 ? ` (+${items.length - 3})` : ""}`;

async function exactlyOnce(input: CheckInput): Promise<CheckResult> {
  const ids = [...input.acked.map((c) => c.commandId), ...input.unacked.map((c) => c.commandId)];
  const res = await input.pool.query<{ id: string; n: number }>(
    `SELECT metadata->>'commandId' AS id, count(*)::int AS n FROM events
      WHERE metadata->>'commandId' = ANY($1::text[]) GROUP BY 1`,
    [ids],
  );
  const counts = new Map(res.rows.map((r) => [r.id, r.n]));
  const missing = input.acked.filter((c) => !counts.has(c.commandId)).map((c) => c.commandId);
  const twice = [...counts].filter(([, n]) => n !== 1).map(([id, n]) => `${id}×${n}`);
  const expiredApplied = input.unacked
    .filter((c) => c.code === "EXPIRED" && counts.has(c.commandId))
    .map((c) => c.commandId);
  if (missing.length === 0 && twice.length === 0 && expiredApplied.length === 0) return pass;
  return fail(
    [
      missing.length > 0 ? `${missing.length} acked not applied: ${sample(missing)}` : "",
      twice.length > 0 ? `${twice.length} applied more than once: ${sample(twice)}` : "",
      expiredApplied.length > 0
        ? `${expiredApplied.length} answered expired but applied: ${sample(expiredApplied)}`
        : "",
    ]
      .filter(Boolean)
      .join("; "),
  );
}

async function turnsInOrder(input: CheckInput): Promise<CheckResult> {
  const problems: string[] = [];
  for (const [lane, conversationId] of input.conversations.entries()) {
    const res = await input.pool.query<{ sequence: number; text: string }>(
      "SELECT sequence, text FROM turns WHERE conversation_id = $1 ORDER BY sequence",
      [conversationId],
    );
    const seqs = res.rows.map((r) => Number(/turn (\d+)$/.exec(r.text)?.[1] ?? -1));
    res.rows.forEach((r, i) => {
      if (Number(r.sequence) !== i + 1) problems.push(`lane ${lane}: sequence ${r.sequence} at ${i + 1}`);
      if (i > 0 && (seqs[i] as number) <= (seqs[i - 1] as number))
        problems.push(`lane ${lane}: turn ${seqs[i]} after ${seqs[i - 1]}`);
    });
    const stored = new Set(res.rows.map((r) => r.text));
    for (const c of input.acked)
      if (c.lane === lane && c.kind === "turn" && !stored.has(c.text as string))
        problems.push(`lane ${lane}: acked turn ${c.seq} missing`);
  }
  return problems.length === 0 ? pass : fail(`${problems.length} problems: ${sample(problems)}`);
}

async function outboxEqualsStream(input: CheckInput, nc: NatsConnection): Promise<CheckResult> {
  const db = await input.pool.query<{ id: string; published: boolean }>(
    `SELECT event_id::text AS id, event_published(transaction_id, position) AS published FROM events
      ORDER BY transaction_id, position`,
  );
  const unpublished = db.rows.filter((r) => !r.published).length;
  const stream = streamNames(input.prefix).eventStream;
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info(stream);
  const ids: string[] = [];
  const gaps: number[] = [];
  if (info.state.messages > 0) {
    const consumer = await jetstream(nc).consumers.get(stream, { deliver_policy: DeliverPolicy.All });
    const messages = await consumer.consume();
    let expectedSeq = info.state.first_seq;
    const timeout = setTimeout(() => void messages.close(), 20_000);
    for await (const m of messages) {
      if (m.seq !== expectedSeq) gaps.push(expectedSeq);
      expectedSeq = m.seq + 1;
      ids.push(m.headers?.get("Nats-Msg-Id") ?? "");
      if (m.seq >= info.state.last_seq) break;
    }
    clearTimeout(timeout);
    await messages.close().catch(() => {});
  }
  const inStream = new Set(ids);
  const inDb = new Set(db.rows.map((r) => r.id));
  const missing = db.rows.filter((r) => !inStream.has(r.id)).length;
  const extra = ids.filter((id) => !inDb.has(id)).length;
  const duplicates = ids.length - inStream.size;
  const dbOrder = db.rows.map((r) => r.id).filter((id) => inStream.has(id));
  const streamOrder = [...new Set(ids)].filter((id) => inDb.has(id));
  const outOfOrder = dbOrder.findIndex((id, i) => streamOrder[i] !== id);
  const problems = [
    unpublished > 0 ? `${unpublished} unpublished` : "",
    missing > 0 ? `${missing} not in stream` : "",
    extra > 0 ? `${extra} in stream only` : "",
    duplicates > 0 ? `${duplicates} duplicates` : "",
    gaps.length > 0 || info.state.first_seq !== 1 || info.state.messages !== info.state.last_seq
      ? `stream gaps (first ${info.state.first_seq}, last ${info.state.last_seq}, ${info.state.messages} messages)`
      : "",
    outOfOrder >= 0 ? `order differs from position ${outOfOrder}` : "",
  ].filter(Boolean);
  return problems.length === 0 ? pass : fail(`${db.rows.length} events: ${problems.join("; ")}`);
}

async function viewsEqualSource(input: CheckInput): Promise<CheckResult> {
  const views = await input.pool.query<{ name: string }>("SELECT name FROM read_views ORDER BY ordinal");
  const problems: string[] = [];
  for (const { name } of views.rows) {
    const res = await input.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM ((TABLE ${name} EXCEPT ALL TABLE ${name}_source)
         UNION ALL (TABLE ${name}_source EXCEPT ALL TABLE ${name})) d`,
    );
    const n = res.rows[0]?.n ?? 0;
    if (n > 0) problems.push(`${name}: ${n} rows differ`);
  }
  return problems.length === 0 ? pass : fail(problems.join("; "));
}

async function queueEmpty(input: CheckInput, nc: NatsConnection): Promise<CheckResult> {
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info(streamNames(input.prefix).commandStream);
  return info.state.messages === 0 ? pass : fail(`${info.state.messages} commands still queued`);
}

function noOtherExit(input: CheckInput): CheckResult {
  const exits = input.processes.flatMap((p) => p.unexpectedExits);
  return exits.length === 0 ? pass : fail(exits.join("; "));
}

/** What an unhandled rejection or exception looks like on a Bun process's stderr. */
const unhandledPattern = /unhandled|uncaught|^error:/im;

/**
 * An unhandled rejection or exception: printed on stderr by Bun (which then exits), or logged as
 * "unhandled rejection" by a process that handles the event and carries on.
 */
function noUnhandled(input: CheckInput): CheckResult {
  const found = input.processes.flatMap((p) =>
    [...p.past, p.process].flatMap((incarnation) => {
      const line = incarnation
        .stderr()
        .split("\n")
        .find((l) => unhandledPattern.test(l));
      const logged = incarnation.logs
        .filter((l) => /unhandled|uncaught/i.test(String(l.msg)))
        .map((l) => `${p.name}: ${String(l.msg)}: ${String((l.err as { message?: string })?.message ?? "")}`);
      return [...(line === undefined ? [] : [`${p.name}: ${line.slice(0, 160)}`]), ...logged];
    }),
  );
  return found.length === 0 ? pass : fail(`${found.length}: ${sample(found)}`);
}

function readOwnWrite(input: CheckInput): CheckResult {
  const stale = input.canary.filter((t) => t.stale !== undefined).map((t) => t.stale);
  return stale.length === 0 ? pass : fail(`${stale.length} stale reads: ${sample(stale)}`);
}

/** Runs every check; a check that throws fails with the error. */
export async function runChecks(input: CheckInput): Promise<Record<CheckName, CheckResult>> {
  const nc = await connect({ servers: input.natsUrl, name: "chaos-checks", timeout: 5_000 });
  const guard = async (run: () => Promise<CheckResult> | CheckResult): Promise<CheckResult> => {
    try {
      return await run();
    } catch (error) {
      return fail(`check failed to run: ${error instanceof Error ? error.message : String(error)}`);
    }
  };
  try {
    return {
      "exactly once": await guard(() => exactlyOnce(input)),
      "turns in order": await guard(() => turnsInOrder(input)),
      "outbox = stream": await guard(() => outboxEqualsStream(input, nc)),
      "views = source": await guard(() => viewsEqualSource(input)),
      "queue empty": await guard(() => queueEmpty(input, nc)),
      "no other exit": await guard(() => noOtherExit(input)),
      "no unhandled": await guard(() => noUnhandled(input)),
      "read own write": await guard(() => readOwnWrite(input)),
    };
  } finally {
    await nc.close();
  }
}

/**
 * Waits until the deployment is quiet: no command queued, every event published and applied to every view.
 * @returns the milliseconds it took, or undefined when `timeoutMs` ran out first.
 */
export async function waitForQuiet(
  pool: pg.Pool,
  natsUrl: string,
  prefix: string,
  timeoutMs: number,
): Promise<number | undefined> {
  const started = Date.now();
  const nc = await connect({ servers: natsUrl, name: "chaos-quiet", timeout: 5_000 });
  try {
    const jsm = await jetstreamManager(nc);
    while (Date.now() - started < timeoutMs) {
      try {
        const queued = (await jsm.streams.info(streamNames(prefix).commandStream)).state.messages;
        const res = await pool.query<{
          unpublished: number;
          tx: string | null;
          pos: string | null;
          ctx: string;
          cpos: string;
        }>(
          `SELECT (SELECT count(*)::int FROM events WHERE NOT event_published(transaction_id, position)) AS unpublished,
                  (SELECT transaction_id::text FROM events ORDER BY transaction_id DESC, position DESC LIMIT 1) AS tx,
                  (SELECT position::text FROM events ORDER BY transaction_id DESC, position DESC LIMIT 1) AS pos,
                  c.transaction_id::text AS ctx, c.position::text AS cpos
             FROM consistency_checkpoint c WHERE c.name = 'default'`,
        );
        const row = res.rows[0];
        if (row !== undefined && queued === 0 && row.unpublished === 0) {
          const last: StreamPoint = { transactionId: BigInt(row.tx ?? 0), position: BigInt(row.pos ?? 0) };
          const complete: StreamPoint = { transactionId: BigInt(row.ctx), position: BigInt(row.cpos) };
          if (comparePoints(complete, last) >= 0) return Date.now() - started;
        }
      } catch {
        // A dependency is still coming back: try again.
      }
      await Bun.sleep(200);
    }
    return undefined;
  } finally {
    await nc.close();
  }
}
