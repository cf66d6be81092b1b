/** The `conversations` and `turns` tables. */

import type { AggregateStore, Row } from "../../db/aggregate-store";
import { insertState, updateState } from "../../db/aggregate-store";
import { iso, isoRequired } from "../../db/sql-client";
import type { ConversationCommand } from "./commands";
import type { ConversationEvent } from "./events";
import type { ConversationState } from "./state";

/** Reads and writes conversations and their turns. */
export const conversationStore: AggregateStore<ConversationState, ConversationEvent, ConversationCommand> = {
  table: "conversations",
  columns: `a.id, a.user_id, a.voice_model_id, a.face_model_id, a.status, a.turn_count, a.started_at, a.ended_at,
            (SELECT t.recorded_at FROM turns t WHERE t.conversation_id = a.id ORDER BY t.sequence DESC LIMIT 1)
              AS last_turn_at,
            a.version`,
  fromRow(row: Row): ConversationState {
    return {
      version: Number(row.version),
      conversationId: row.id as string,
      userId: row.user_id as string,
      status: row.status as ConversationState["status"],
      voiceModelId: row.voice_model_id as string | null,
      faceModelId: row.face_model_id as string | null,
      turnCount: row.turn_count as number,
      startedAt: isoRequired(row.started_at as Date),
      lastTurnAt: iso(row.last_turn_at as Date | null),
      endedAt: iso(row.ended_at as Date | null),
    };
  },
  save(b, before, after, events) {
    if (before.version === 0) {
      insertState(b, "conversations", {
        id: [after.conversationId, "uuid"],
        user_id: [after.userId, "uuid"],
        voice_model_id: [after.voiceModelId, "uuid"],
        face_model_id: [after.faceModelId, "uuid"],
        status: [after.status, "text"],
        turn_count: [after.turnCount, "int"],
        started_at: [after.startedAt, "timestamptz"],
        updated_at: [after.startedAt, "timestamptz"],
        version: [after.version, "bigint"],
      });
    } else {
      const endedAt = b.param(after.endedAt, "timestamptz");
      updateState(
        b,
        "conversations",
        `status = ${b.param(after.status, "text")}, turn_count = ${b.param(after.turnCount, "int")},
         ended_at = ${endedAt},
         updated_at = GREATEST(updated_at, COALESCE(${endedAt}, ${b.param(after.lastTurnAt, "timestamptz")}, updated_at)),
         version = ${b.param(after.version, "bigint")}`,
        after.conversationId,
        before.version,
      );
    }
    const turns = events.flatMap((e) => (e.type === "conversation.turn_recorded" ? [e.data] : []));
    if (turns.length > 0) {
      b.cte(
        "turns_written",
        `INSERT INTO turns (conversation_id, sequence, speaker, text, audio_ms, latency_ms, recorded_at)
         SELECT ${b.param(after.conversationId, "uuid")}, s, sp, tx, am, lm, ra
           FROM unnest(${b.param(
             turns.map((t) => t.sequence),
             "int[]",
           )}, ${b.param(
             turns.map((t) => t.speaker),
             "text[]",
           )},
                       ${b.param(
                         turns.map((t) => t.text),
                         "text[]",
                       )}, ${b.param(
                         turns.map((t) => t.audioMs),
                         "bigint[]",
                       )},
                       ${b.param(
                         turns.map((t) => t.latencyMs),
                         "bigint[]",
                       )},
                       ${b.param(
                         turns.map((t) => t.recordedAt),
                         "timestamptz[]",
                       )}) AS t(s, sp, tx, am, lm, ra)`,
      );
    }
  },
};
