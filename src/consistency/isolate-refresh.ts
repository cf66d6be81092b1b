/**
 * Poison isolation for view refreshes. A refresh task that keeps failing would hold its view, and the
 * `complete` watermark every read-your-writes query waits on, back for good. So a failing task is retried
 * with capped, jittered backoff while its failure is transient (Postgres unreachable, a serialization
 * conflict); once it is deterministic or has repeated `maxAttempts` times, the task is split into one task per
 * key, each tried on its own, and only the keys that still fail are dead-lettered (source `consistency`):
 * every other row of the task is applied and the view moves on.
 */
import { decideRetry, type RetryPolicy } from "../dead-letters";
import type { RefreshTask } from "./coordinator";

/** What {@link refreshIsolating} needs. */
export interface IsolationDeps {
  readonly runRefresh: (task: RefreshTask) => Promise<void>;
  /** Records a one-key task given up on; without it, a failing task is retried for good. */
  readonly deadLetter?: (task: RefreshTask, error: unknown, attempts: number) => Promise<void>;
  readonly onError?: (error: unknown, task: RefreshTask) => void;
  readonly retryPolicy?: RetryPolicy;
  /** True once the coordinator stops: no more waiting. */
  readonly stopped: () => boolean;
}

/** Backoff of refreshes: short, a view is waited on. */
const refreshPolicy: RetryPolicy = { baseMs: 100, capMs: 5_000, maxAttempts: 5, maxTransientAttempts: 200 };

type Attempted =
  | { readonly ok: true }
  | { readonly ok: false; readonly error: unknown; readonly attempts: number };

/** Runs a task until it succeeds or is to be given up on (deterministic or repeated failure). */
async function attempt(task: RefreshTask, deps: IsolationDeps): Promise<Attempted> {
  for (let attempts = 1; ; attempts++) {
    try {
      await deps.runRefresh(task);
      return { ok: true };
    } catch (error) {
      deps.onError?.(error, task);
      const decision = decideRetry(error, attempts, deps.retryPolicy ?? refreshPolicy);
      if (decision.action === "dead-letter" || deps.stopped()) return { ok: false, error, attempts };
      await Bun.sleep(decision.delayMs);
    }
  }
}

/**
 * Applies a refresh task, isolating the keys that fail for good. Rejects only when a dead letter cannot be
 * recorded, or there is no `deadLetter` (the caller retries the whole task later).
 */
export async function refreshIsolating(task: RefreshTask, deps: IsolationDeps): Promise<void> {
  const whole = await attempt(task, deps);
  if (whole.ok) return;
  if (deps.deadLetter === undefined || deps.stopped()) throw whole.error;
  const singles = task.refreshes.flatMap((r) =>
    r.keys.map((key): RefreshTask => ({ ...task, refreshes: [{ column: r.column, keys: [key] }] })),
  );
  if (singles.length <= 1) {
    await deps.deadLetter(task, whole.error, whole.attempts);
    return;
  }
  for (const single of singles) {
    const one = await attempt(single, deps);
    if (!one.ok) await deps.deadLetter(single, one.error, one.attempts);
  }
  // Nothing left to apply, but the view's point: a task with every key removed still moves it on.
  await deps.runRefresh({ ...task, refreshes: [] }).catch(() => {});
}

/** The dead-letter key of a one-key refresh task: `view:column:key`. */
export function refreshKeyOf(task: RefreshTask): string {
  const r = task.refreshes[0];
  return r === undefined ? `${task.view}:*` : `${task.view}:${r.column}:${r.keys.join(",")}`;
}
