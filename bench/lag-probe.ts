/**
 * Consistency lag, measured from outside the service (item 3 of queries.bench.ts).
 *
 * Open loop: UpdateUserProfile commands at a fixed rate, each on a different random user, each with a new
 * display name. Before its command, the user's profile is read once (so the gateway caches the old answer).
 *
 *   lag = visible − answered
 *   answered: the client has CommandService's answer;
 *   visible:  a GetUserProfile through the gateway, cache ON (what clients read by default), returns the new
 *             display name. Polled at once and then every 1 ms from the moment the invalidation broadcast is
 *             seen (below), and every 100 ms before that (a fallback that catches a visible value without a
 *             broadcast), so `visible` is late by at most one poll interval plus one query.
 *
 * Where the time goes comes from lag-observer.ts stamps, all epoch ms on this machine's clock: the worker's
 * reply (its transaction committed), the relay wake, the event on the EVENTS stream, and the invalidation
 * broadcast by the consistency role after the view refresh committed.
 */
import type { GrpcClient } from "../src/gateway";
import type { CommandService } from "../src/gen/clone/v1/command_service_pb";
import type { QueryService } from "../src/gen/clone/v1/query_service_pb";
import { type BenchChild, startBenchChild } from "./child-process";
import { asUser, type TokenBook } from "./query-workloads";
import { seededRandom } from "./zipf";

/** One stack to measure. */
export interface LagTarget {
  readonly prefix: string;
  readonly query: GrpcClient<typeof QueryService>;
  readonly command: GrpcClient<typeof CommandService>;
  readonly tokens: TokenBook;
  readonly users: readonly string[];
}

/** One command's stamps (epoch ms). */
export interface LagSample {
  readonly userId: string;
  readonly commandId: string;
  readonly name: string;
  readonly sentAt: number;
  answeredAt?: number;
  replyAt?: number;
  wakeAt?: number;
  evtAt?: number;
  invAt?: number;
  visibleAt?: number;
  /** Why it has no `visibleAt`: `timeout` or the call's error. */
  error?: string;
}

/** How one run sends. */
export interface LagRunOptions {
  /** Commands per second. */
  readonly rate: number;
  readonly durationMs: number;
  /** A sample not visible this long after its answer is given up (`timeout`). */
  readonly timeoutMs: number;
}

/** Sends lag commands and collects their stamps. */
export interface LagProbe {
  /** Runs the open-loop schedule on `target`; resolves once every sample is visible or given up. */
  run(target: LagTarget, options: LagRunOptions): Promise<LagSample[]>;
  /**
   * One open-loop schedule over several targets, each at `options.rate`: sample i goes to target
   * i mod n, so whatever else the machine does at any moment falls on every target alike. Resolves with the
   * samples of each target, in the order of `targets`.
   */
  runInterleaved(targets: readonly LagTarget[], options: LagRunOptions): Promise<LagSample[][]>;
  close(): Promise<void>;
}

const epochMs = () => performance.timeOrigin + performance.now();
const FALLBACK_POLL_MS = 100;
const FAST_POLL_MS = 1;
/** A wake belongs to a reply when it is this close to it. */
const WAKE_WINDOW_MS = 20;

interface Pending {
  readonly sample: LagSample;
  readonly invSeen: () => void;
}

/** Starts the observer child on the given prefixes. */
export async function createLagProbe(natsUrl: string, prefixes: readonly string[]): Promise<LagProbe> {
  const byUser = new Map<string, Pending>();
  const byCommand = new Map<string, Pending>();
  const wakes = new Map<string, number[]>(prefixes.map((p) => [p, []]));
  const random = seededRandom(7);
  /** Users not drawn yet, per prefix: every sample of the run is on a user of its own. */
  const unused = new Map<string, string[]>();

  const onLine = (line: string) => {
    const [kind, prefix, a, b] = line.split(" ");
    if (prefix === undefined || a === undefined) return;
    if (kind === "wake") {
      wakes.get(prefix)?.push(Number(a));
      return;
    }
    if (b === undefined) return;
    const at = Number(b);
    if (kind === "reply") {
      const p = byCommand.get(`${prefix}|${a}`);
      if (p) p.sample.replyAt = at;
      return;
    }
    const p = byUser.get(`${prefix}|${a}`);
    // A stamp from before the command was sent belongs to an earlier write of that user.
    if (!p || at < p.sample.sentAt) return;
    if (kind === "evt" && p.sample.evtAt === undefined) p.sample.evtAt = at;
    if (kind === "inv" && p.sample.invAt === undefined) {
      p.sample.invAt = at;
      p.invSeen();
    }
  };
  const observer: BenchChild = await startBenchChild(
    new URL("./lag-observer.ts", import.meta.url),
    (l) => l.msg === "observing",
    { args: [natsUrl, ...prefixes], onLine },
  );

  function drawUser(target: LagTarget): string {
    let left = unused.get(target.prefix);
    if (left === undefined || left.length === 0) {
      left = [...target.users];
      unused.set(target.prefix, left);
    }
    const i = Math.floor(random() * left.length);
    const userId = left[i] as string;
    left[i] = left[left.length - 1] as string;
    left.pop();
    return userId;
  }

  /** One sample; never rejects (a failure is the sample's `error`). */
  async function one(target: LagTarget, seq: number, timeoutMs: number): Promise<LagSample> {
    const userId = drawUser(target);
    const commandId = crypto.randomUUID();
    const name = `Lag ${seq} ${commandId.slice(0, 8)}`;
    try {
      await target.tokens.tokenOf(userId);
      await target.query.call("getUserProfile", { userId }, asUser(target.tokens, userId));
    } catch (error) {
      return { userId, commandId, name, sentAt: epochMs(), error: messageOf(error) };
    }
    const sample: LagSample = { userId, commandId, name, sentAt: epochMs() };
    let invSeen = () => {};
    const inv = new Promise<void>((resolve) => {
      invSeen = resolve;
    });
    const pending: Pending = { sample, invSeen };
    const userKey = `${target.prefix}|${userId}`;
    const commandKey = `${target.prefix}|${commandId}`;
    byUser.set(userKey, pending);
    byCommand.set(commandKey, pending);
    try {
      await target.command.call(
        "updateUserProfile",
        { options: { commandId }, userId, displayName: name },
        asUser(target.tokens, userId),
      );
      sample.answeredAt = epochMs();
      const deadline = sample.answeredAt + timeoutMs;
      for (;;) {
        const r = await target.query.call("getUserProfile", { userId }, asUser(target.tokens, userId));
        if (r.profile?.displayName === name) {
          sample.visibleAt = epochMs();
          break;
        }
        if (epochMs() > deadline) {
          sample.error = "timeout";
          break;
        }
        if (sample.invAt !== undefined) await Bun.sleep(FAST_POLL_MS);
        else await Promise.race([Bun.sleep(FALLBACK_POLL_MS), inv]);
      }
    } catch (error) {
      sample.error = messageOf(error);
    } finally {
      // Late observer lines (the invalidation after a poll already saw the value) still land.
      setTimeout(() => {
        byUser.delete(userKey);
        byCommand.delete(commandKey);
      }, 1_000);
    }
    return sample;
  }

  async function runInterleaved(
    targets: readonly LagTarget[],
    options: LagRunOptions,
  ): Promise<LagSample[][]> {
    const interval = 1000 / (options.rate * targets.length);
    const perTarget = Math.max(1, Math.round((options.rate * options.durationMs) / 1000));
    const started = performance.now();
    const runs: Promise<LagSample>[][] = targets.map(() => []);
    for (let i = 0; i < perTarget * targets.length; i++) {
      const wait = started + i * interval - performance.now();
      if (wait > 0) await Bun.sleep(wait);
      const t = i % targets.length;
      runs[t]?.push(one(targets[t] as LagTarget, i, options.timeoutMs));
    }
    const samples = await Promise.all(runs.map((r) => Promise.all(r)));
    await Bun.sleep(200); // the last observer lines
    targets.forEach((target, t) => {
      const prefixWakes = wakes.get(target.prefix) ?? [];
      for (const s of samples[t] ?? []) s.wakeAt = nearestWake(prefixWakes, s);
      prefixWakes.length = 0;
    });
    return samples;
  }

  return {
    run: async (target, options) => (await runInterleaved([target], options))[0] ?? [],
    runInterleaved,
    close: () => observer.stop(),
  };
}

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** The relay wake sent right around the worker's reply of this sample (and before its event). */
function nearestWake(wakes: readonly number[], s: LagSample): number | undefined {
  if (s.replyAt === undefined) return undefined;
  let best: number | undefined;
  for (const w of wakes) {
    if (Math.abs(w - s.replyAt) > WAKE_WINDOW_MS || (s.evtAt !== undefined && w > s.evtAt)) continue;
    if (best === undefined || Math.abs(w - s.replyAt) < Math.abs(best - s.replyAt)) best = w;
  }
  return best;
}
