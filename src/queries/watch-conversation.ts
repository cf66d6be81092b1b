/**
 * WatchConversation: the turns after `after_sequence`, past ones first (from Postgres), then live ones as they
 * are published, with no gap and no duplicate at the switch; the stream ends when the conversation ends.
 *
 * The live listener is registered BEFORE the history is read, so a turn recorded meanwhile is either in the
 * history or in the live queue (or both: sequence numbers drop the repeat). A jump in sequence numbers, or a
 * live queue that grew too long because the client reads slowly, is filled from Postgres. Backpressure comes
 * from the transport: the next turn is produced only when the client has taken the previous one.
 */
import { z } from "zod";
import { encodeToken } from "../contracts";
import { AppError } from "../errors";
import type { CallContext } from "../gateway";
import { requireActor } from "../gateway";
import { Speaker } from "../gen/clone/v1/enums_pb";
import type { PublishedEvent } from "../outbox";
import type { OwnerLookup, SqlClient } from "../write-model";
import { parseRequest, requireOwnConversation, ts, uuidField } from "./definitions/common";
import { toTurn } from "./definitions/conversations";
import type { LiveTurns } from "./live-turns";

/** What WatchConversation needs. */
export interface WatchDeps {
  readonly db: SqlClient;
  readonly ownerOf: OwnerLookup;
  readonly live: LiveTurns;
  /** Live events kept for a slow client before it is switched to reading from Postgres. */
  readonly maxQueued?: number;
}

const schema = z.object({ conversationId: uuidField, afterSequence: z.number().int().min(0) });

type Turn = ReturnType<typeof toTurn>;
type Meta = { fromCache: boolean; consistencyToken: string; stalenessMs: bigint };

/** The server-streaming handler. */
export function createWatchConversation(deps: WatchDeps) {
  const maxQueued = deps.maxQueued ?? 10_000;

  async function readTurns(conversationId: string, after: number, upTo: number | undefined): Promise<Turn[]> {
    const res = await deps.db.query(
      `SELECT sequence, speaker, text, audio_ms, latency_ms, recorded_at FROM turns
        WHERE conversation_id = $1 AND sequence > $2 AND ($3::int IS NULL OR sequence <= $3)
        ORDER BY sequence LIMIT 500`,
      [conversationId, after, upTo ?? null],
    );
    return res.rows.map(toTurn);
  }

  async function headToken(conversationId: string): Promise<string> {
    const res = await deps.db.query<{ position: string; transaction_id: string }>(
      "SELECT position, transaction_id FROM events WHERE aggregate_id = $1 ORDER BY aggregate_version DESC LIMIT 1",
      [conversationId],
    );
    const r = res.rows[0];
    return r ? encodeToken({ transactionId: BigInt(r.transaction_id), position: BigInt(r.position) }) : "";
  }

  return async function* watchConversation(request: object, ctx: CallContext) {
    const p = parseRequest(schema, request);
    await requireOwnConversation(deps, requireActor(ctx.actor), p.conversationId);
    const queue: PublishedEvent[] = [];
    let overflowed = false;
    let wake: (() => void) | undefined;
    const stop = await deps.live.listen(p.conversationId, (event) => {
      if (queue.length >= maxQueued) overflowed = true;
      else queue.push(event);
      wake?.();
    });
    const onAbort = () => wake?.();
    ctx.signal.addEventListener("abort", onAbort);
    try {
      let last = p.afterSequence;
      // Everything up to `upTo` (or all there is) from Postgres.
      async function* catchUp(upTo: number | undefined, meta: Meta) {
        for (;;) {
          const turns = await readTurns(p.conversationId, last, upTo);
          for (const turn of turns) {
            last = turn.sequence;
            yield { meta, turn };
          }
          if (turns.length < 500) return;
        }
      }
      const state = await deps.db.query<{ status: string; turn_count: number }>(
        "SELECT status, turn_count FROM conversations WHERE id = $1",
        [p.conversationId],
      );
      const conversation = state.rows[0];
      if (!conversation) throw new AppError("NOT_FOUND", `conversation ${p.conversationId} not found`);
      const historyMeta = {
        fromCache: false,
        consistencyToken: await headToken(p.conversationId),
        stalenessMs: 0n,
      };
      yield* catchUp(undefined, historyMeta);
      if (conversation.status === "ENDED") {
        yield* catchUp(conversation.turn_count, historyMeta);
        return;
      }
      while (!ctx.signal.aborted) {
        if (overflowed) {
          overflowed = false;
          queue.length = 0;
          yield* catchUp(undefined, { ...historyMeta, consistencyToken: await headToken(p.conversationId) });
          continue;
        }
        const event = queue.shift();
        if (!event) {
          await new Promise<void>((resolve) => {
            wake = resolve;
          });
          wake = undefined;
          continue;
        }
        const meta = {
          fromCache: false,
          consistencyToken: event.token,
          stalenessMs: BigInt(Math.max(0, Date.now() - Date.parse(event.committedAt))),
        };
        if (event.type === "conversation.ended") {
          yield* catchUp(Number(event.data.turnCount), meta);
          return;
        }
        const sequence = Number(event.data.sequence);
        if (sequence <= last) continue;
        if (sequence > last + 1) yield* catchUp(sequence - 1, meta);
        last = sequence;
        yield {
          meta,
          turn: {
            sequence,
            speaker: event.data.speaker === "CLONE" ? Speaker.CLONE : Speaker.USER,
            text: String(event.data.text),
            audioMs: Number(event.data.audioMs),
            latencyMs: Number(event.data.latencyMs),
            recordedAt: ts(String(event.data.recordedAt)),
          },
        };
      }
      // Cancelled, past the deadline, or the server is stopping: say so rather than end as if the
      // conversation had ended.
      throw ctx.signal.reason;
    } finally {
      stop();
      ctx.signal.removeEventListener("abort", onAbort);
    }
  };
}
