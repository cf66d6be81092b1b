/**
 * The graceful end of the embedded mode. The event bus lives in memory, so an event published but not yet
 * handled when the process exits would not come again after a restart (the relay has checkpointed it). Before
 * closing, the commands accepted are applied, the relay publishes everything committed, and the subscribers
 * handle it, which may apply more commands (document processing), until all of it is quiet.
 */
import type pg from "pg";
import type { CommandRuntime } from "../actors/command-thread";
import type { InProcessEventSource } from "../events";
import type { OutboxRelay } from "../outbox";
import { UNPUBLISHED_WHERE, unpublishedParams } from "../outbox/sql";

/** What {@link drainEmbedded} waits on. */
export interface DrainTargets {
  readonly pool: pg.Pool;
  readonly runtime: CommandRuntime;
  readonly events: InProcessEventSource;
  readonly relay: OutboxRelay;
  /** Gives up after this long, ms. */
  readonly graceMs: number;
}

const UNPUBLISHED_SQL = `SELECT EXISTS (SELECT FROM events e WHERE ${UNPUBLISHED_WHERE}) AS pending`;

/** Whether events wait for the relay. */
async function pendingEvents(pool: pg.Pool) {
  return pool.query<{ pending: boolean }>(UNPUBLISHED_SQL, await unpublishedParams(pool));
}

/** Resolves true once nothing is queued, unpublished or unhandled; false when `graceMs` ran out first. */
export async function drainEmbedded(targets: DrainTargets): Promise<boolean> {
  const deadline = Date.now() + targets.graceMs;
  const within = async <T>(work: Promise<T>): Promise<T | "timeout"> => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), Math.max(0, deadline - Date.now()));
    });
    try {
      return await Promise.race([work, timeout]);
    } finally {
      clearTimeout(timer);
    }
  };
  while (Date.now() < deadline) {
    if ((await within(targets.runtime.idle())) === "timeout") return false;
    const unpublished = await within(pendingEvents(targets.pool));
    if (unpublished === "timeout") return false;
    if (unpublished.rows[0]?.pending === true) {
      targets.relay.wake();
      await Bun.sleep(10);
      continue;
    }
    if ((await within(targets.events.idle())) === "timeout") return false;
    if (targets.runtime.size() === 0 && (await isQuiet(targets))) return true;
  }
  return false;
}

/** Nothing left after the handlers ran: no command queued, no event unpublished. */
async function isQuiet(targets: DrainTargets): Promise<boolean> {
  const result = await pendingEvents(targets.pool);
  return result.rows[0]?.pending !== true && targets.runtime.size() === 0;
}
