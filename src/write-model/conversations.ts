/** The `conversations` and `turns` tables. */
import type { ConversationEvent, ConversationState } from "../domain";
import { iso, isoRequired, type SqlClient, updateVersioned } from "./sql-client";

interface ConversationRow {
  id: string;
  user_id: string;
  voice_model_id: string | null;
  face_model_id: string | null;
  status: ConversationState["status"];
  turn_count: number;
  started_at: Date;
  ended_at: Date | null;
  last_turn_at: Date | null;
  version: string;
}

/** The state of a conversation (undefined when it does not exist). */
export async function loadConversation(
  client: SqlClient,
  id: string,
): Promise<ConversationState | undefined> {
  const res = await client.query<ConversationRow>(
    `SELECT c.id, c.user_id, c.voice_model_id, c.face_model_id, c.status, c.turn_count, c.started_at, c.ended_at,
            (SELECT t.recorded_at FROM turns t WHERE t.conversation_id = c.id ORDER BY t.sequence DESC LIMIT 1)
              AS last_turn_at,
            c.version
       FROM conversations c WHERE c.id = $1`,
    [id],
  );
  const row = res.rows[0];
  if (!row) return undefined;
  return {
    version: Number(row.version),
    conversationId: row.id,
    userId: row.user_id,
    status: row.status,
    voiceModelId: row.voice_model_id,
    faceModelId: row.face_model_id,
    turnCount: row.turn_count,
    startedAt: isoRequired(row.started_at),
    lastTurnAt: iso(row.last_turn_at),
    endedAt: iso(row.ended_at),
  };
}

/** Writes a conversation's new state and its new turns. */
export async function saveConversation(
  client: SqlClient,
  before: ConversationState,
  after: ConversationState,
  events: readonly ConversationEvent[],
): Promise<void> {
  if (before.version === 0) {
    await client.query(
      `INSERT INTO conversations (id, user_id, voice_model_id, face_model_id, status, turn_count, started_at,
                                  updated_at, version)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8)`,
      [
        after.conversationId,
        after.userId,
        after.voiceModelId,
        after.faceModelId,
        after.status,
        after.turnCount,
        after.startedAt,
        after.version,
      ],
    );
  } else {
    await updateVersioned(
      client,
      "conversation",
      after.conversationId,
      `UPDATE conversations
          SET status = $2, turn_count = $3, ended_at = $4,
              updated_at = GREATEST(updated_at, COALESCE($4, $5, updated_at)), version = $6
        WHERE id = $1 AND version = $7`,
      [
        after.conversationId,
        after.status,
        after.turnCount,
        after.endedAt,
        after.lastTurnAt,
        after.version,
        before.version,
      ],
    );
  }
  for (const event of events) {
    if (event.type !== "conversation.turn_recorded") continue;
    const t = event.data;
    await client.query(
      `INSERT INTO turns (conversation_id, sequence, speaker, text, audio_ms, latency_ms, recorded_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [after.conversationId, t.sequence, t.speaker, t.text, t.audioMs, t.latencyMs, t.recordedAt],
    );
  }
}
