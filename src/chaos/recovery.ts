/**
 * Recovery times of one scenario, measured from what the clients and samplers recorded, against the targets:
 * the first command acknowledged within 2 s of the dependency answering again (and every load lane within 2 s
 * too), the read side caught up (every event up to that first command's applied to every view) within 2 s of
 * that, health NOT_SERVING within 1 s of losing a dependency and SERVING within 1 s of having it back, and a
 * document uploaded once the fault ended PROCESSED within 3 s.
 */
import { comparePoints } from "../contracts";
import type { AckedCommand } from "./load";
import type { HealthSample, ProgressSample } from "./observers";

/** A measured time (ms) and the most it may take; `ms` undefined when it never happened in the window. */
export interface Measure {
  readonly ms: number | undefined;
  readonly targetMs: number;
  /** For a measure over several endpoints: the one that took longest, and its last reason for not serving. */
  readonly worst?: string;
}

/** The recovery measures of a scenario; undefined where a measure does not apply. */
export interface Recovery {
  /** Dependency back → the first acknowledged command. */
  readonly firstCommand: Measure;
  /** Dependency back → every load lane has had a command acknowledged. */
  readonly allLanes: Measure;
  /** Dependency back → the read side has applied the first command's event (target: 2 s after that command). */
  readonly readCaughtUp: Measure;
  /**
   * The longest any command acknowledged after the dependency was back waited for the read side to apply it
   * (catches a read side that caught up once and then stood still).
   */
  readonly readLagMax: Measure;
  /** Fault → every process's health NOT_SERVING / not ready (dependency faults only). */
  readonly healthDown: Measure | undefined;
  /** Dependency back → every process SERVING / ready; for faults that should not touch health: the longest gap. */
  readonly healthUp: Measure;
  /** A document uploaded once the fault ended → PROCESSED (see document-probe.ts); undefined: not probed. */
  readonly documentProcessed: Measure | undefined;
}

/** What the measures are computed from. */
export interface RecoveryInput {
  readonly faultAt: number;
  readonly healAt: number;
  /** True when a dependency went away (health should go NOT_SERVING and come back). */
  readonly dependencyLost: boolean;
  /** The process the scenario killed (its samples are ignored). */
  readonly killed: string | undefined;
  readonly lanes: number;
  readonly acked: readonly AckedCommand[];
  readonly health: readonly HealthSample[];
  readonly progress: readonly ProgressSample[];
  /**
   * The document probe's time (ms; undefined: not processed in its window); absent when no probe ran.
   */
  readonly documentProcessedMs?: number | undefined;
}

const since = (from: number, at: number | undefined): number | undefined =>
  at === undefined ? undefined : at - from;

/** Computes the measures of {@link Recovery}. */
export function measureRecovery(input: RecoveryInput): Recovery {
  const { healAt } = input;
  const after = input.acked.filter((c) => c.ackedAt >= healAt).sort((a, b) => a.ackedAt - b.ackedAt);
  const first = after[0];
  const laneTimes = Array.from(
    { length: input.lanes },
    (_, lane) => after.find((c) => c.lane === lane)?.ackedAt,
  );
  const allLanes = laneTimes.includes(undefined) ? undefined : Math.max(...(laneTimes as number[]));

  const anchor = after.find((c) => c.point !== undefined);
  const caught =
    anchor?.point === undefined
      ? undefined
      : input.progress.find(
          (s) => s.at >= (anchor.ackedAt as number) && comparePoints(s.complete, anchor.point as never) >= 0,
        )?.at;
  const firstMs = since(healAt, first?.ackedAt);
  let lagMax: number | undefined = 0;
  for (const c of after) {
    if (c.point === undefined) continue;
    const seen = input.progress.find(
      (s) => s.at >= c.ackedAt && comparePoints(s.complete, c.point as never) >= 0,
    )?.at;
    if (seen === undefined) {
      lagMax = undefined;
      break;
    }
    lagMax = Math.max(lagMax, seen - c.ackedAt);
  }

  const watched = [...new Set(input.health.filter((s) => s.process !== input.killed).map((s) => s.target))];
  const samples = (target: string) => input.health.filter((s) => s.target === target);
  let healthDown: Measure | undefined;
  let healthUp: Measure;
  if (input.dependencyLost) {
    healthDown = slowest(watched, 1_000, (t) =>
      since(input.faultAt, samples(t).find((s) => s.at >= input.faultAt && !s.serving)?.at),
    );
    healthUp = slowest(
      watched,
      1_000,
      (t) => since(healAt, samples(t).find((s) => s.at >= healAt && s.serving)?.at),
      (t) => described(t, samples(t)),
    );
  } else {
    healthUp = slowest(
      watched,
      1_000,
      (t) => longestGap(samples(t).filter((s) => s.at >= input.faultAt)),
      (t) => described(t, samples(t)),
    );
  }
  return {
    firstCommand: { ms: firstMs, targetMs: 2_000 },
    allLanes: { ms: since(healAt, allLanes), targetMs: 2_000 },
    readCaughtUp: { ms: since(healAt, caught), targetMs: (firstMs ?? 0) + 2_000 },
    readLagMax: { ms: lagMax, targetMs: 2_000 },
    healthDown,
    healthUp,
    documentProcessed:
      "documentProcessedMs" in input ? { ms: input.documentProcessedMs, targetMs: 3_000 } : undefined,
  };
}

/** The largest of `measure` over `targets` (undefined if any is), naming the target it came from. */
function slowest(
  targets: readonly string[],
  targetMs: number,
  measure: (t: string) => number | undefined,
  name: (t: string) => string = (t) => t,
): Measure {
  let worst: { ms: number | undefined; target: string } | undefined;
  for (const target of targets) {
    const ms = measure(target);
    if (worst === undefined || ms === undefined || (worst.ms !== undefined && ms > worst.ms)) {
      worst = { ms, target };
      if (ms === undefined) break;
    }
  }
  return {
    ms: worst === undefined ? 0 : worst.ms,
    targetMs,
    ...(worst ? { worst: name(worst.target) } : {}),
  };
}

/** `target`, with the reason of its last sample that was not serving. */
function described(target: string, samples: readonly HealthSample[]): string {
  const reason = samples.findLast((s) => !s.serving)?.reason;
  return reason === undefined ? target : `${target} (last: ${reason.replaceAll(/\s+/g, " ")})`;
}

/** The longest run of not-serving samples (ms); undefined when the last sample is still not serving. */
function longestGap(samples: readonly HealthSample[]): number | undefined {
  let longest = 0;
  let downSince: number | undefined;
  for (const s of samples) {
    if (!s.serving) downSince ??= s.at;
    else if (downSince !== undefined) {
      longest = Math.max(longest, s.at - downSince);
      downSince = undefined;
    }
  }
  return downSince === undefined ? longest : undefined;
}

/** True when the measure happened within its target. */
export function withinTarget(m: Measure | undefined): boolean {
  return m === undefined || (m.ms !== undefined && m.ms <= m.targetMs);
}
