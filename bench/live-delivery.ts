/**
 * Real-time delivery, measured from outside the service (the live section of commands.bench.ts): how long a
 * turn takes from the speaker's client sending RecordConversationTurn to a WatchConversation subscriber of the
 * same conversation receiving it, while other lanes record turns on other conversations.
 *
 * One watcher streams one conversation of its own; a speaker records turns to it open loop at a steady rate
 * (each turn sent on its tick whether or not the previous was answered, so a stall shows in the latencies
 * instead of slowing the sender), each turn numbered in its text; the background lanes run closed loop, turns
 * only. Per turn: send → answer (the speaker's client has the reply) and send → delivered (the command path,
 * the outbox relay, the EVENTS stream and the gateway's live feed). The CPU the relay spent meanwhile, per turn
 * recorded, shows what the delivery's speed costs it.
 *
 * That timed pass runs unprobed. A second pass of the same length runs with live-observer.ts subscribed (a
 * child process stamping the speaker's commands on JetStream, the worker's replies and the relay's events),
 * which is all the "where the time goes" table comes from, as path-probe.ts does for commands.
 */

import type pg from "pg";
import { createGrpcClient, type GrpcClient, mintToken } from "../src/gateway";
import { CommandService } from "../src/gen/clone/v1/command_service_pb";
import { Speaker } from "../src/gen/clone/v1/enums_pb";
import { QueryService } from "../src/gen/clone/v1/query_service_pb";
import { startBenchChild } from "./child-process";
import { type CommitStats, commitProbe } from "./commit-probe";
import { type CpuMeter, diffSamples } from "./cpu-meter";
import { type LongWrites, watchLongWrites } from "./lag-server-watch";
import { LIVE_TAG, liveCommandId, liveTurnOfText } from "./live-tags";
import { type Operation, runClosedLoop } from "./load";
import { percentile } from "./stats";

/** What {@link measureLiveDelivery} needs. */
export interface LiveDeliveryInput {
  readonly gatewayAddress: string;
  readonly jwtSecret: string;
  /** For the probed pass's observer. */
  readonly natsUrl: string;
  readonly prefix: string;
  /** One RecordConversationTurn on another conversation (the background lanes). */
  readonly background: Operation;
  readonly backgroundLanes: number;
  /** Turns the speaker sends per second. */
  readonly ratePerSecond: number;
  /** Length of each of the two passes, ms. */
  readonly durationMs: number;
  readonly meter: CpuMeter | undefined;
  /**
   * The deployment's database: its commits and the relay's rounds are counted during the timed pass, and the
   * server's long write transactions watched (lag-server-watch.ts): the database's own hold its relay back.
   */
  readonly database: { readonly pool: pg.Pool; readonly url: string; readonly name: string };
}

/** Percentiles of one span, ms. */
export interface Spread {
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
}

/** The spans of the probed pass, by the points stamped (see live-observer.ts). */
export interface LiveBreakdown {
  readonly turns: number;
  /** Client → gateway → the command on JetStream. */
  readonly gatewayIn: Spread;
  /** JetStream → worker → transaction → the worker's reply. */
  readonly worker: Spread;
  /** The worker's reply → the event on the EVENTS stream (wake-up, relay round, publish). */
  readonly relay: Spread;
  /** The event on the EVENTS stream → the gateway's live feed → the subscriber. */
  readonly gatewayOut: Spread;
  /** The worker's reply → the speaker's client has the answer, for comparison. */
  readonly answerOut: Spread;
}

/** What the live section measured. */
export interface LiveDeliveryResult {
  readonly backgroundLanes: number;
  readonly ratePerSecond: number;
  readonly durationMs: number;
  readonly sent: number;
  readonly delivered: number;
  /** Turns the speaker sent that failed (not in the spreads). */
  readonly errors: number;
  readonly sendToAnswer: Spread;
  readonly sendToDelivered: Spread;
  /** Per turn, delivered − answered: what the delivery adds to the command path (negative when it is first). */
  readonly answerToDelivered: Spread;
  /** Background turns recorded per second meanwhile. */
  readonly backgroundPerSecond: number;
  /** CPU of the relay per turn recorded (speaker's and background's), ms; undefined without a meter. */
  readonly relayCpuPerTurnMs: number | undefined;
  /** Commits and relay rounds of the timed pass. */
  readonly commits: CommitStats;
  /** Write transactions of at least {@link LONG_WRITE_MS} on the Postgres server during the timed pass. */
  readonly longWrites: LongWrites;
  readonly breakdown: LiveBreakdown;
}

/** A write transaction running this long in the deployment's database holds its relay back long enough to count. */
const LONG_WRITE_MS = 25;

/** The target of the live section: p99 of send → delivered, ms. */
export const LIVE_P99_TARGET_MS = 50;

const DEADLINE_MS = 30_000;
/** How long a pass waits for the last turns to be delivered (and stamped) after its window. */
const DRAIN_MS = 3_000;
/** Turn numbers of the probed pass start here, so that the two passes' turns stay apart. */
const PROBED_FROM = 1_000_000;

const epochMs = () => performance.timeOrigin + performance.now();

interface Pass {
  readonly sentAt: Map<number, number>;
  readonly answeredAt: Map<number, number>;
  readonly errors: number;
  readonly backgroundPerSecond: number;
  readonly backgroundTurns: number;
}

/** Runs the live section on a running stack. */
export async function measureLiveDelivery(input: LiveDeliveryInput): Promise<LiveDeliveryResult> {
  const commands = createGrpcClient(CommandService, input.gatewayAddress);
  const queries = createGrpcClient(QueryService, input.gatewayAddress);
  const watching = new AbortController();
  let watch: Promise<void> | undefined;
  try {
    const { conversationId, token } = await startConversation(commands, input.jwtSecret);
    const deliveredAt = new Map<number, number>();
    const arrivals = new Map<number, () => void>();
    watch = (async () => {
      const stream = queries.stream(
        "watchConversation",
        { conversationId, afterSequence: 0 },
        { token, signal: watching.signal },
      );
      for await (const message of stream) {
        const at = epochMs();
        const n = liveTurnOfText(message.turn?.text ?? "");
        if (n === undefined) continue;
        deliveredAt.set(n, at);
        arrivals.get(n)?.();
      }
    })().catch((error: unknown) => {
      if (!watching.signal.aborted) process.stderr.write(`live: the watch failed: ${String(error)}\n`);
    });
    const delivered = (n: number) =>
      deliveredAt.has(n) ? Promise.resolve() : new Promise<void>((resolve) => arrivals.set(n, resolve));

    const send = (n: number) =>
      commands.call(
        "recordConversationTurn",
        {
          options: { commandId: liveCommandId(n) },
          conversationId,
          speaker: n % 2 === 0 ? Speaker.USER : Speaker.CLONE,
          text: `Tell me more about the tram ride. ${LIVE_TAG}${n}`,
          audioMs: 2_400,
          latencyMs: 180,
        },
        { token, deadline: Date.now() + DEADLINE_MS },
      );
    // Until a turn arrives, the watch may not be listening yet (and the paths are cold): send and wait.
    for (let n = -1; deliveredAt.size === 0; n--) {
      if (n < -20) throw new Error("WatchConversation delivered none of 20 warm-up turns");
      await send(n);
      await Promise.race([delivered(n), Bun.sleep(500)]);
    }

    const runPass = async (from: number): Promise<Pass> => {
      const sentAt = new Map<number, number>();
      const answeredAt = new Map<number, number>();
      let errors = 0;
      const speaker = (async () => {
        const intervalMs = 1000 / input.ratePerSecond;
        const start = performance.now();
        const calls: Promise<void>[] = [];
        for (let i = 0; i * intervalMs < input.durationMs; i++) {
          const wait = start + i * intervalMs - performance.now();
          if (wait > 0) await Bun.sleep(wait);
          const n = from + i;
          sentAt.set(n, epochMs());
          calls.push(
            send(n).then(
              () => void answeredAt.set(n, epochMs()),
              () => void errors++,
            ),
          );
        }
        await Promise.all(calls);
      })();
      const background = await runClosedLoop(input.backgroundLanes, input.durationMs, input.background);
      await speaker;
      const last = from + sentAt.size - 1;
      await Promise.race([delivered(last), Bun.sleep(DRAIN_MS)]);
      return {
        sentAt,
        answeredAt,
        errors,
        backgroundPerSecond: (background.completedInWindow * 1000) / background.windowMs,
        backgroundTurns: background.completedInWindow,
      };
    };

    const before = await input.meter?.sample();
    const committed = await commitProbe(input.database.pool);
    const serverWatch = await watchLongWrites(input.database.url, [input.database.name], {
      thresholdMs: LONG_WRITE_MS,
    });
    const timed = await runPass(0);
    const after = await input.meter?.sample();
    const longWrites = await serverWatch.stop();
    const commits = await committed();
    const relayCpu = before && after ? diffSamples(before, after).byProcess.get("relay") : undefined;
    const turns = timed.sentAt.size + timed.backgroundTurns;

    const stamps = new Map<string, Map<number, number>>();
    const observer = await startBenchChild(
      new URL("./live-observer.ts", import.meta.url),
      (l) => l.msg === "observing",
      {
        args: [input.natsUrl, input.prefix, conversationId],
        onLine: (line) => {
          const [what, n, at] = line.split(" ");
          if (what === undefined || n === undefined || at === undefined) return;
          let byTurn = stamps.get(what);
          if (byTurn === undefined) {
            byTurn = new Map();
            stamps.set(what, byTurn);
          }
          byTurn.set(Number(n), Number(at));
        },
      },
    );
    let probed: Pass;
    try {
      probed = await runPass(PROBED_FROM);
      await Bun.sleep(300); // the observer's last lines
    } finally {
      await observer.stop();
    }

    const span = (pass: Pass, from: Map<number, number> | undefined, to: Map<number, number> | undefined) => {
      const samples: number[] = [];
      for (const n of pass.sentAt.keys()) {
        const a = from?.get(n);
        const b = to?.get(n);
        if (a !== undefined && b !== undefined) samples.push(b - a);
      }
      return spread(samples);
    };
    const toDelivered = span(timed, timed.sentAt, deliveredAt);
    return {
      backgroundLanes: input.backgroundLanes,
      ratePerSecond: input.ratePerSecond,
      durationMs: input.durationMs,
      sent: timed.sentAt.size,
      delivered: [...timed.sentAt.keys()].filter((n) => deliveredAt.has(n)).length,
      errors: timed.errors,
      sendToAnswer: span(timed, timed.sentAt, timed.answeredAt),
      sendToDelivered: toDelivered,
      answerToDelivered: span(timed, timed.answeredAt, deliveredAt),
      backgroundPerSecond: timed.backgroundPerSecond,
      relayCpuPerTurnMs: relayCpu === undefined || turns === 0 ? undefined : relayCpu / turns,
      commits,
      longWrites,
      breakdown: {
        turns: [...probed.sentAt.keys()].filter(
          (n) => deliveredAt.has(n) && ["published", "replied", "evt"].every((w) => stamps.get(w)?.has(n)),
        ).length,
        gatewayIn: span(probed, probed.sentAt, stamps.get("published")),
        worker: span(probed, stamps.get("published"), stamps.get("replied")),
        relay: span(probed, stamps.get("replied"), stamps.get("evt")),
        gatewayOut: span(probed, stamps.get("evt"), deliveredAt),
        answerOut: span(probed, stamps.get("replied"), probed.answeredAt),
      },
    };
  } finally {
    watching.abort();
    await watch;
    commands.close();
    queries.close();
  }
}

/** A user of its own and a conversation of theirs, with the user's token. */
async function startConversation(
  commands: GrpcClient<typeof CommandService>,
  secret: string,
): Promise<{ conversationId: string; token: string }> {
  const service = await mintToken({ sub: "bench-live", role: "service", secret });
  const userId = crypto.randomUUID();
  const deadline = () => Date.now() + DEADLINE_MS;
  await commands.call(
    "createUser",
    { userId, email: `live-${userId}@bench.test`, displayName: "Live" },
    { token: service, deadline: deadline() },
  );
  const token = await mintToken({ sub: userId, role: "user", secret });
  const started = await commands.call("startConversation", { userId }, { token, deadline: deadline() });
  return { conversationId: started.result?.aggregateId ?? "", token };
}

function spread(samples: readonly number[]): Spread {
  const sorted = Float64Array.from(samples).sort();
  return {
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted.length === 0 ? Number.NaN : (sorted[sorted.length - 1] as number),
    mean: sorted.length === 0 ? Number.NaN : sorted.reduce((a, b) => a + b, 0) / sorted.length,
  };
}

/** The live section of the report, with its verdict. */
export function formatLiveDelivery(r: LiveDeliveryResult): string {
  const ms = (v: number) => (Number.isNaN(v) ? "-" : v.toFixed(1));
  const row = (name: string, s: Spread) =>
    `| ${name} | ${ms(s.mean)} | ${ms(s.p50)} | ${ms(s.p99)} | ${ms(s.max)} |`;
  const header = ["| span (ms) | mean | p50 | p99 | max |", "|---|---:|---:|---:|---:|"];
  const p99 = r.sendToDelivered.p99;
  const pass = r.delivered === r.sent && r.errors === 0 && p99 < LIVE_P99_TARGET_MS;
  const relay =
    r.relayCpuPerTurnMs === undefined
      ? ""
      : `; relay CPU ${r.relayCpuPerTurnMs.toFixed(3)} ms per turn recorded`;
  const b = r.breakdown;
  return [
    `real-time delivery (one WatchConversation subscriber; its speaker records ${r.ratePerSecond} turns/s ` +
      `for ${r.durationMs / 1000} s while ${r.backgroundLanes} other lanes record turns closed loop): ` +
      `${r.sent} turns sent, ${r.delivered} delivered, ${r.errors} failed; ` +
      `background ${r.backgroundPerSecond.toFixed(0)} turns/s${relay}`,
    ...header,
    row("send → answer (speaker's client)", r.sendToAnswer),
    row("send → delivered (subscriber)", r.sendToDelivered),
    row("answer → delivered, per turn (what delivery adds)", r.answerToDelivered),
    "",
    `write transactions of ${r.longWrites.thresholdMs} ms or more on the Postgres server meanwhile (those of the ` +
      `deployment's database hold its relay back): ${r.longWrites.count}, ${r.longWrites.foreign} of ` +
      `them in other databases; the longest ${r.longWrites.longestMs.toFixed(0)} ms` +
      (r.longWrites.count === 0 ? "" : ` (${r.longWrites.longestQuery})`),
    "",
    `where the delivery's time goes (a separate pass as long, with live-observer.ts stamping; ${b.turns} turns seen whole):`,
    ...header,
    row("client → gateway → command on JetStream", b.gatewayIn),
    row("JetStream → worker → commit → reply", b.worker),
    row("reply → relay → event on EVENTS", b.relay),
    row("event → gateway live feed → subscriber", b.gatewayOut),
    row("(reply → gateway → speaker's answer)", b.answerOut),
    "",
    `WatchConversation delivery from send, with ${r.backgroundLanes} other lanes recording turns: ` +
      `p99 ${ms(p99)} ms (target < ${LIVE_P99_TARGET_MS}) ${pass ? "PASS" : "FAIL"}`,
  ].join("\n");
}
