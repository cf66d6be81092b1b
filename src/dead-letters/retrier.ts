/**
 * Runs the dead letters an operator asked to retry (`bun run cli dead-letters retry <id>`): each consumer that
 * dead-letters starts one for its source. A retry that succeeds deletes the dead letter; one that fails records
 * the failure on it again (one more attempt, the new error).
 */
import type { Logger } from "../logging";
import type { SqlClient } from "../write-model";
import { describeError } from "./classify";
import { type DeadLetter, type DeadLetterSource, recordDeadLetter, takeRetryRequests } from "./store";

/** Options of {@link startDeadLetterRetrier}. */
export interface DeadLetterRetrierOptions {
  readonly db: SqlClient;
  readonly source: DeadLetterSource;
  /**
   * Runs the item again; resolves when it succeeded, or with "recorded" when it failed and its consumer has
   * recorded that on the dead letter itself; rejects when it failed.
   */
  readonly retry: (letter: DeadLetter) => Promise<unknown>;
  /** How often retry requests are looked for, ms. Default 1000. */
  readonly pollMs?: number;
  readonly log?: Logger;
}

/** A running retrier. */
export interface DeadLetterRetrier {
  stop(): Promise<void>;
}

/** Starts looking for retry requests of `source`. */
export function startDeadLetterRetrier(options: DeadLetterRetrierOptions): DeadLetterRetrier {
  const pollMs = options.pollMs ?? 1_000;
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let round: Promise<void> = Promise.resolve();

  async function runOne(letter: DeadLetter): Promise<void> {
    try {
      if ((await options.retry(letter)) === "recorded") return;
      await options.db.query("DELETE FROM dead_letters WHERE id = $1", [letter.id]);
      options.log?.info({ source: letter.source, key: letter.key }, "dead letter retried");
    } catch (error) {
      options.log?.warn(
        {
          source: letter.source,
          key: letter.key,
          error: String(error),
        },
        "dead letter failed again",
      );
      await recordDeadLetter(options.db, {
        source: letter.source,
        consumer: letter.consumer,
        key: letter.key,
        error: describeError(error),
        attempts: 1,
        payload: letter.payload,
      });
    }
  }

  async function poll(): Promise<void> {
    try {
      for (const letter of await takeRetryRequests(options.db, options.source)) {
        if (stopped) return;
        await runOne(letter);
      }
    } catch (error) {
      options.log?.warn(
        {
          source: options.source,
          error: String(error),
        },
        "looking for dead letters to retry failed",
      );
    }
  }

  function schedule(): void {
    if (stopped) return;
    timer = setTimeout(() => {
      round = poll().finally(schedule);
    }, pollMs);
  }
  schedule();
  return {
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await round;
    },
  };
}
