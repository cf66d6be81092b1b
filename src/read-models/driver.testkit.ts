/**
 * Test support: drives the real command path in-process (the command executor on a test database) and
 * follows it on the read side with keyed refreshes of the rows each new event touches.
 */
import type pg from "pg";
import { createCommandExecutor } from "../actors/executor";
import { buildEnvelope } from "../commands/build-envelope";
import type { CommandOutcome } from "../contracts";
import type { DomainCommand, DomainEvent } from "../domain";
import { type KeyedRefresh, type RefreshCount, refreshMany } from "./refresh";

/** Sends commands and keeps the views up to date with keyed refreshes. */
export interface Driver {
  /** Executes one command (storing its content by claim check first when it has some). */
  send(command: DomainCommand): Promise<CommandOutcome>;
  /** The events appended since the last call (or since the driver was made), in order. */
  newEvents(): Promise<DomainEvent[]>;
  /** Keyed refresh of the rows `events` touch (default {@link touchedBy}), in one transaction. */
  refreshFor(events: readonly DomainEvent[], touched?: Touched): Promise<RefreshCount>;
  /** {@link send}, then {@link refreshFor} the events it appended. */
  sendAndRefresh(command: DomainCommand, touched?: Touched): Promise<CommandOutcome>;
}

/** Which rows of which views an event makes stale. */
export type Touched = (event: DomainEvent) => readonly KeyedRefresh[];

/** Options of {@link createDriver}. */
export interface DriverOptions {
  /** Prefix of command ids, unique per driver on one database. */
  readonly prefix?: string;
  /** Clock of the deciders; default: a fake clock one second further at every call. */
  readonly now?: () => Date;
}

/** A fake clock starting at `start`, `stepMs` further at each call. */
export function steppingClock(start = Date.parse("2030-01-01T00:00:00Z"), stepMs = 1000): () => Date {
  let t = start;
  return () => {
    t += stepMs;
    return new Date(t);
  };
}

/** The rows an event touches, per view, keyed by primary key or by user. */
export function touchedBy(event: DomainEvent): KeyedRefresh[] {
  const d = event.data as Record<string, unknown>;
  const ids = (...keys: string[]) =>
    keys.map((k) => d[k]).filter((v): v is string => typeof v === "string" && v !== "");
  const user = ids("userId");
  const byUser = (view: KeyedRefresh["view"]): KeyedRefresh => ({ view, column: "user_id", keys: user });
  const aggregate = event.type.slice(0, event.type.indexOf("."));
  const common = [byUser("user_profile_view"), byUser("user_statistics_view")];
  switch (aggregate) {
    case "user":
      return event.type === "user.deleted"
        ? [
            ...common,
            byUser("document_summary_view"),
            byUser("conversation_session_summary_view"),
            byUser("voice_model_summary_view"),
            byUser("face_model_summary_view"),
          ]
        : common;
    case "voice_model":
    case "face_model":
      return [
        ...common,
        {
          view: `${aggregate}_summary_view`,
          column: `${aggregate}_id`,
          keys: ids("modelId", "previousModelId"),
        },
      ];
    case "document":
      return [...common, { view: "document_summary_view", column: "document_id", keys: ids("documentId") }];
    default:
      return [
        ...common,
        { view: "conversation_session_summary_view", column: "conversation_id", keys: ids("conversationId") },
        { view: "voice_model_summary_view", column: "voice_model_id", keys: ids("voiceModelId") },
        { view: "face_model_summary_view", column: "face_model_id", keys: ids("faceModelId") },
      ];
  }
}

/** A driver on `pool` (the test database's). */
export function createDriver(pool: pg.Pool, options: DriverOptions = {}): Driver {
  const execute = createCommandExecutor({
    connect: () => pool.connect(),
    now: options.now ?? steppingClock(),
  });
  const prefix = options.prefix ?? `drv-${crypto.randomUUID()}`;
  let n = 0;
  let seen = "0";

  const driver: Driver = {
    async send(command) {
      const commandId = `${prefix}-${++n}`;
      const { envelope, blob } = buildEnvelope(command, { commandId, actor: { sub: "test", role: "admin" } });
      if (blob) {
        await pool.query("INSERT INTO command_blobs (command_id, content) VALUES ($1, $2)", [
          commandId,
          Buffer.from(blob),
        ]);
      }
      const [outcome] = await execute([envelope]);
      if (!outcome) throw new Error("the executor returned no outcome");
      return outcome;
    },
    async newEvents() {
      const res = await pool.query<{ type: string; payload: unknown; position: string }>(
        "SELECT type, payload, position FROM events WHERE position > $1 ORDER BY position",
        [seen],
      );
      const last = res.rows.at(-1);
      if (last) seen = last.position;
      return res.rows.map((r) => ({ type: r.type, data: r.payload }) as DomainEvent);
    },
    async refreshFor(events, touched = touchedBy) {
      const client = await pool.connect();
      try {
        await client.query("BEGIN");
        const count = await refreshMany(
          client,
          events.flatMap((e) => touched(e)),
        );
        await client.query("COMMIT");
        return count;
      } catch (error) {
        await client.query("ROLLBACK").catch(() => {});
        throw error;
      } finally {
        client.release();
      }
    },
    async sendAndRefresh(command, touched) {
      const outcome = await driver.send(command);
      await driver.refreshFor(await driver.newEvents(), touched);
      return outcome;
    },
  };
  return driver;
}
