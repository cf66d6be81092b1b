/**
 * A closed-loop load generator: `concurrency` lanes, each starting its next operation as soon as the previous
 * one finished, until the window closes. Closed loop, so throughput and latency are those of a system kept
 * exactly `concurrency` requests busy (Little's law: ops/s ~ concurrency / mean latency).
 *
 * Throughput counts what completed inside the window only: the operations still running when it closes are
 * awaited (their latency is recorded) but the drain, with fewer and fewer lanes busy, is not measured time.
 */
import type { LoadResult } from "./stats";

/** One operation; `lane` is 0..concurrency-1, `seq` counts the lane's operations. */
export type Operation = (lane: number, seq: number) => Promise<unknown>;

/** Runs `op` on `concurrency` lanes for `durationMs` and records the latency of each success. */
export async function runClosedLoop(
  concurrency: number,
  durationMs: number,
  op: Operation,
): Promise<LoadResult> {
  const latencies: number[] = [];
  const errorSamples = new Set<string>();
  let errors = 0;
  let completedInWindow = 0;
  const stopAt = performance.now() + durationMs;
  async function lane(index: number): Promise<void> {
    for (let seq = 0; performance.now() < stopAt; seq++) {
      const t0 = performance.now();
      try {
        await op(index, seq);
        const t1 = performance.now();
        latencies.push(t1 - t0);
        if (t1 <= stopAt) completedInWindow++;
      } catch (error) {
        errors++;
        if (errorSamples.size < 5) errorSamples.add(error instanceof Error ? error.message : String(error));
      }
    }
  }
  await Promise.all(Array.from({ length: concurrency }, (_, i) => lane(i)));
  return {
    completedInWindow,
    windowMs: durationMs,
    errors,
    errorSamples: [...errorSamples],
    latenciesMs: Float64Array.from(latencies),
  };
}
