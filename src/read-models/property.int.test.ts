/**
 * Property: for random command sequences through the real command path (rejected commands included), the
 * views maintained by keyed refreshes equal a model folded in memory from the accepted commands' events, and
 * a full refresh afterwards changes nothing.
 *
 * Half the runs choose the keys to refresh with this folder's own `touchedBy`, the other half with the
 * consistency worker's rules (derived from the view definitions, src/read-models/views/), so those are checked against the views too.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import fc from "fast-check";
import type { DomainEvent } from "../domain";
import type { PublishedEvent } from "../outbox";
import { createTestDatabase, type TestDatabase } from "../testing";
import { resolveIds, symbolicCommand, symbolicSetup } from "./commands.testkit";
import { createDriver, type Driver, type Touched, touchedBy } from "./driver.testkit";
import { expectedViews, onlyUsers } from "./model.testkit";
import { refreshAll } from "./refresh";
import { outboxEvents, snapshotViews } from "./snapshot.testkit";
import { ruleFor } from "./views";

let db: TestDatabase;
let driver: Driver;

/** A clock stepping 0, 400 or 800 ms: some events share a timestamp. */
function unevenClock(): () => Date {
  let t = Date.parse("2031-01-01T00:00:00Z");
  let n = 0;
  return () => {
    t += (n++ % 3) * 400;
    return new Date(t);
  };
}

/** The keys the consistency worker refreshes for an event (the fields its rules read are `type` and `data`). */
const byConsistencyRules: Touched = (event: DomainEvent) => {
  const published = { type: event.type, data: event.data } as unknown as PublishedEvent;
  return ruleFor(event.type)?.refreshes(published) ?? [];
};

beforeAll(async () => {
  db = await createTestDatabase();
  driver = createDriver(db.pool, { now: unevenClock() });
});
afterAll(() => db.drop());

describe("read views equal an in-memory model of the events (property)", () => {
  test("random command sequences, refreshed by key after each command", async () => {
    const accepted = new Map<string, number>();
    let rejected = 0;
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(symbolicCommand, { minLength: 10, maxLength: 40, size: "max" }),
        async (cmds) => {
          const runId = `run${++run}`;
          const touched = run % 2 === 0 ? byConsistencyRules : touchedBy;
          for (const symbolic of [...symbolicSetup, ...cmds]) {
            const command = resolveIds(symbolic, runId);
            const outcome = await driver.sendAndRefresh(command, touched);
            if (outcome.ok) accepted.set(command.type, (accepted.get(command.type) ?? 0) + 1);
            else if (outcome.error.code === "INTERNAL" || outcome.error.code === "UNAVAILABLE") {
              throw new Error(`${command.type}: ${outcome.error.code} ${outcome.error.message}`);
            } else rejected++;
          }
          // This run's rows only, so that shrinking is not fooled by the rows of earlier runs.
          const users = [0, 1, 2].map((i) => resolveIds({ type: "DeleteUser", userId: `user:${i}` }, runId));
          const ids = users.map((c) => (c as { userId: string }).userId);
          expect(onlyUsers(await snapshotViews(db.pool), ids)).toEqual(
            onlyUsers(expectedViews(await outboxEvents(db.pool)), ids),
          );
          expect(await refreshAll(db.pool)).toBe(0);
        },
      ),
      { numRuns: 24 },
    );
    // The sequences did exercise every command, accepted and rejected.
    expect(rejected).toBeGreaterThan(30);
    for (const type of [
      "DeleteUser",
      "UpdateUserProfile",
      "DeleteDocument",
      "RecordDocumentProcessing",
      "EndConversation",
    ]) {
      expect({ type, accepted: (accepted.get(type) ?? 0) > 0 }).toEqual({ type, accepted: true });
    }
    expect(accepted.get("RecordConversationTurn") ?? 0).toBeGreaterThan(20);
  }, 30_000);
});
