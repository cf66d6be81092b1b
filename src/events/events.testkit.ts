/** Helpers of the event sources' tests: events in publish order, and waiting for a condition. */
import { createPublishedEvent, type PublishedEvent } from "../outbox";

let position = 0;

/** A published event of `type`, each one after the previous in relay order. */
export function testEvent(type = "user.created"): PublishedEvent {
  position += 1;
  return createPublishedEvent({
    eventId: crypto.randomUUID(),
    type,
    aggregateType: type.split(".")[0] as string,
    aggregateId: crypto.randomUUID(),
    aggregateVersion: 1,
    position: String(position),
    transactionId: "1000",
    committedAt: new Date().toISOString(),
    data: {},
    metadata: {},
  });
}

/** Resolves once `condition` holds; rejects after `timeoutMs`. */
export async function until(condition: () => boolean, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await Bun.sleep(2);
  }
}
