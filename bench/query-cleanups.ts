/**
 * Cleanups of queries.bench.ts: what started registers how to stop it, and the cleanups run once, in
 * reverse, at the end or on Ctrl-C. Something that finishes starting after they ran (Ctrl-C during a start)
 * is stopped at once, so that no child process outlives the run.
 */

/** The registry. */
export interface Cleanups {
  /** Registers the cleanup of `value` that just started; after {@link Cleanups.run}, stops it and throws. */
  track<T>(value: T, stop: (value: T) => Promise<unknown>): Promise<T>;
  /** Starts them all, each registered as soon as it started; rethrows the first failure. */
  all<T>(starts: readonly Promise<T>[], stop: (value: T) => Promise<unknown>): Promise<T[]>;
  /** Runs the cleanups once; a second call waits for the first. */
  run(): Promise<void>;
}

/** Creates an empty registry; failures of a cleanup are reported to `report` and the others still run. */
export function createCleanups(report: (line: string) => void): Cleanups {
  const steps: Array<() => Promise<unknown>> = [];
  let running: Promise<void> | undefined;
  const track = async <T>(value: T, stop: (value: T) => Promise<unknown>): Promise<T> => {
    if (running === undefined) {
      steps.push(() => stop(value));
      return value;
    }
    await stop(value).catch(() => {});
    throw new Error("interrupted");
  };
  const all = async <T>(
    starts: readonly Promise<T>[],
    stop: (value: T) => Promise<unknown>,
  ): Promise<T[]> => {
    const settled = await Promise.allSettled(starts.map((p) => p.then((v) => track(v, stop))));
    const failed = settled.find((s) => s.status === "rejected");
    if (failed) throw failed.reason;
    return settled.map((s) => (s as PromiseFulfilledResult<T>).value);
  };
  return {
    track,
    all,
    run() {
      running ??= (async () => {
        for (const step of steps.splice(0).reverse()) {
          await step().catch((error: unknown) => report(`cleanup: ${String(error)}`));
        }
      })();
      return running;
    },
  };
}
