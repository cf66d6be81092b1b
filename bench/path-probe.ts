/**
 * Where an end-to-end command spends its time, observed from outside the service (nothing in src/ is changed):
 *
 * 1. client → gateway → JetStream: from the client's send to the command's publish on `<prefix>.cmd.<p>`
 *    (gRPC in, authentication, validation, authorisation, envelope);
 * 2. JetStream → worker → transaction start: from the publish to the start of the transaction that applied it
 *    (`events.committed_at` is `now()`, the transaction's start): delivery, thread hop, mailbox and pool wait;
 * 3. transaction → reply: from that start to the worker's reply on `<prefix>.reply.<gateway>` (the statements
 *    of the whole batch, COMMIT, the outcome back from the thread);
 * 4. reply → client: the gateway answering and gRPC out.
 *
 * The client stamps sends and answers; the publish and the reply are stamped by path-observer.ts, a child
 * process with an idle event loop; the transaction start comes from Postgres. All are epoch milliseconds on
 * one machine's clock. Means are shown: they add up to the mean latency of the probed pass.
 *
 * Probing costs CPU (two more deliveries per command to the observer, a line per command to parse, the stamps),
 * so it only runs in a pass of its own: {@link PathProbe.measure} starts the observer, runs the pass, and stops
 * the observer again. Outside those passes nothing is subscribed and nothing is stamped.
 */
import type pg from "pg";
import { type BenchChild, startBenchChild } from "./child-process";
import type { CommandObserver } from "./command-workload";

/** Mean milliseconds of each segment over the commands seen whole. */
export interface PathBreakdown {
  readonly commands: number;
  readonly gatewayIn: number;
  readonly toTransaction: number;
  readonly transaction: number;
  readonly gatewayOut: number;
}

/** Runs probed passes: the observer is up (and the client stamping) only during one. */
export interface PathProbe {
  /**
   * Starts the observer, runs `pass` with the observer the command workload must report its sends and answers
   * to, stops the observer and returns what the pass returned with its breakdown, joined with the events table.
   */
  measure<T>(
    db: pg.Pool,
    pass: (observer: CommandObserver) => Promise<T>,
  ): Promise<{ readonly result: T; readonly breakdown: PathBreakdown }>;
  /** Stops an observer still running (a pass interrupted by an error or a signal). */
  close(): Promise<void>;
}

type Stamp = "sent" | "published" | "replied" | "answered";
type Stamps = Partial<Record<Stamp, number>>;

const epochMs = () => performance.timeOrigin + performance.now();
/** How long a pass waits for the observer's last lines once its last command was answered. */
const SETTLE_MS = 300;

function isWhole(s: Stamps): s is Record<Stamp, number> {
  return (
    s.sent !== undefined && s.published !== undefined && s.replied !== undefined && s.answered !== undefined
  );
}

/** A probe of the prefix's subjects; no observer runs until {@link PathProbe.measure}. */
export function createPathProbe(natsUrl: string, prefix: string): PathProbe {
  // The observer of the pass under way, from its start on, so that `close` also stops one still starting.
  let current: Promise<BenchChild> | undefined;
  let closed = false;
  const stop = async () => {
    const observer = current;
    current = undefined;
    await observer?.then(
      (child) => child.stop(),
      () => undefined, // it did not start, and startBenchChild stopped it
    );
  };
  return {
    async measure<T>(db: pg.Pool, pass: (observer: CommandObserver) => Promise<T>) {
      if (closed || current !== undefined) throw new Error("path probe: closed, or a pass is under way");
      const stamps = new Map<string, Stamps>();
      const entry = (id: string) => {
        let s = stamps.get(id);
        if (s === undefined) {
          s = {};
          stamps.set(id, s);
        }
        return s;
      };
      const started = startBenchChild(
        new URL("./path-observer.ts", import.meta.url),
        (l) => l.msg === "observing",
        {
          args: [natsUrl, prefix],
          onLine: (line) => {
            const [id, published, replied] = line.split(" ");
            if (id === undefined || published === undefined || replied === undefined) return;
            const s = entry(id);
            s.published = Number(published);
            s.replied = Number(replied);
          },
        },
      );
      current = started;
      let result: T;
      try {
        await started;
        if (closed) throw new Error("path probe: closed");
        result = await pass({
          sent: (id) => {
            entry(id).sent = epochMs();
          },
          answered: (id) => {
            entry(id).answered = epochMs();
          },
        });
        await Bun.sleep(SETTLE_MS);
      } finally {
        await stop();
      }
      return { result, breakdown: await breakdown(db, stamps) };
    },
    async close() {
      closed = true;
      await stop();
    },
  };
}

/** Means of the segments over the commands stamped whole whose transaction is found. */
async function breakdown(db: pg.Pool, stamps: ReadonlyMap<string, Stamps>): Promise<PathBreakdown> {
  const whole: Array<[string, Record<Stamp, number>]> = [];
  for (const [id, s] of stamps) if (isWhole(s)) whole.push([id, s]);
  const started = await transactionStarts(
    db,
    whole.map(([id]) => id),
  );
  const sums = { gatewayIn: 0, toTransaction: 0, transaction: 0, gatewayOut: 0 };
  let n = 0;
  for (const [id, s] of whole) {
    const txStart = started.get(id);
    if (txStart === undefined) continue;
    sums.gatewayIn += s.published - s.sent;
    sums.toTransaction += txStart - s.published;
    sums.transaction += s.replied - txStart;
    sums.gatewayOut += s.answered - s.replied;
    n++;
  }
  const mean = (x: number) => (n > 0 ? x / n : Number.NaN);
  return {
    commands: n,
    gatewayIn: mean(sums.gatewayIn),
    toTransaction: mean(sums.toTransaction),
    transaction: mean(sums.transaction),
    gatewayOut: mean(sums.gatewayOut),
  };
}

/** Start of the transaction that wrote each command's events, epoch ms. */
async function transactionStarts(db: pg.Pool, commandIds: readonly string[]): Promise<Map<string, number>> {
  const res = await db.query<{ id: string; started: number }>(
    `SELECT metadata->>'commandId' AS id, min(extract(epoch FROM committed_at) * 1000)::float8 AS started
       FROM events WHERE metadata->>'commandId' = ANY($1::text[]) GROUP BY 1`,
    [commandIds],
  );
  return new Map(res.rows.map((r) => [r.id, r.started]));
}
