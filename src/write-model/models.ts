/** The `voice_models` and `face_models` tables (one shape, one module) and the user's active model. */
import type { ModelKind, ModelRef, TrainableModelEvent, TrainableModelState } from "../domain";
import { iso, isoRequired, type SqlClient, updateVersioned } from "./sql-client";

const tables: Record<ModelKind, { table: string; activeColumn: string }> = {
  voice_model: { table: "voice_models", activeColumn: "active_voice_model_id" },
  face_model: { table: "face_models", activeColumn: "active_face_model_id" },
};

interface ModelRow {
  id: string;
  user_id: string;
  name: string;
  sample_seconds: number;
  status: TrainableModelState["status"];
  quality_score: number | null;
  failure_reason: string | null;
  created_at: Date;
  trained_at: Date | null;
  updated_at: Date;
  version: string;
}

async function selectModel(client: SqlClient, kind: ModelKind, id: string): Promise<ModelRow | undefined> {
  const res = await client.query<ModelRow>(
    `SELECT id, user_id, name, sample_seconds, status, quality_score, failure_reason, created_at, trained_at,
            updated_at, version
       FROM ${tables[kind].table} WHERE id = $1`,
    [id],
  );
  return res.rows[0];
}

/** The state of a model (undefined when it does not exist). */
export async function loadModel(
  client: SqlClient,
  kind: ModelKind,
  id: string,
): Promise<TrainableModelState | undefined> {
  const row = await selectModel(client, kind, id);
  if (!row) return undefined;
  return {
    version: Number(row.version),
    modelId: row.id,
    userId: row.user_id,
    name: row.name,
    sampleSeconds: row.sample_seconds,
    status: row.status,
    qualityScore: row.quality_score,
    failureReason: row.failure_reason,
    registeredAt: isoRequired(row.created_at),
    completedAt:
      row.status === "PENDING" ? null : iso(row.status === "TRAINED" ? row.trained_at : row.updated_at),
    activatedAt: null,
  };
}

/** A model named by another aggregate's command. */
export async function loadModelRef(client: SqlClient, kind: ModelKind, id: string): Promise<ModelRef> {
  const row = await selectModel(client, kind, id);
  return row ? { exists: true, userId: row.user_id, status: row.status } : { exists: false };
}

/** Writes a model's new state and, on activation, makes it its user's active model. */
export async function saveModel(
  client: SqlClient,
  kind: ModelKind,
  before: TrainableModelState,
  after: TrainableModelState,
  events: readonly TrainableModelEvent<ModelKind>[],
): Promise<void> {
  const { table, activeColumn } = tables[kind];
  if (before.version === 0) {
    await client.query(
      `INSERT INTO ${table} (id, user_id, name, sample_seconds, status, created_at, updated_at, version)
       VALUES ($1, $2, $3, $4, $5, $6, $6, $7)`,
      [
        after.modelId,
        after.userId,
        after.name,
        after.sampleSeconds,
        after.status,
        after.registeredAt,
        after.version,
      ],
    );
  } else {
    const updatedAt = after.activatedAt ?? after.completedAt ?? after.registeredAt;
    await updateVersioned(
      client,
      kind,
      after.modelId,
      `UPDATE ${table}
          SET status = $2, quality_score = $3, failure_reason = $4,
              trained_at = CASE WHEN $2 = 'TRAINED' THEN $5::timestamptz ELSE trained_at END,
              updated_at = GREATEST(updated_at, $6::timestamptz), version = $7
        WHERE id = $1 AND version = $8`,
      [
        after.modelId,
        after.status,
        after.qualityScore,
        after.failureReason,
        after.completedAt,
        updatedAt,
        after.version,
        before.version,
      ],
    );
  }
  for (const event of events) {
    if (event.type.endsWith(".activated")) {
      await client.query(`UPDATE users SET ${activeColumn} = $2 WHERE id = $1`, [
        after.userId,
        after.modelId,
      ]);
    }
  }
}
