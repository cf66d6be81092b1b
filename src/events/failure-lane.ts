/**
 * What both event sources do with an event whose handler failed: another attempt after a backoff (the event
 * waits in its own lane, the others go on), or a dead letter and the event is done.
 */

import { backoffMs, decideRetry } from "../dead-letters";
import type { Logger } from "../logging";
import type { PublishedEvent } from "../outbox";
import type { SubscribeOptions } from "./event-source";

/** The next step for a failed event: retry after `retryInMs`, or done (dead-lettered). */
export type AfterFailure = { readonly retryInMs: number } | "done";

/** Decides, and records the dead letter when it comes to that (a failure to record it is retried too). */
export async function afterFailure(
  consumer: string,
  event: PublishedEvent,
  error: unknown,
  attempts: number,
  options: SubscribeOptions | undefined,
  log: Logger,
): Promise<AfterFailure> {
  const decision = decideRetry(error, attempts, options?.retryPolicy);
  const fields = { consumer, eventId: event.eventId, eventType: event.type, attempts, error: String(error) };
  if (decision.action === "dead-letter" && options?.deadLetter) {
    try {
      await options.deadLetter(event, error, attempts);
      log.warn({ ...fields, failure: decision.failure }, "event handler failed; dead-lettered");
      return "done";
    } catch (recordError) {
      log.warn({ ...fields, recordError: String(recordError) }, "recording a dead letter failed; will retry");
    }
  }
  const delay = backoffMs(attempts, options?.retryPolicy);
  log.warn({ ...fields, failure: decision.failure, waitMs: delay }, "event handler failed; will retry");
  return { retryInMs: delay };
}
