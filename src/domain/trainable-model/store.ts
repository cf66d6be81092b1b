/** The `voice_models` and `face_models` tables (one shape, one module) and the user's active model. */

import type { AggregateStore, Row } from "../../db/aggregate-store";
import { insertState, updateState } from "../../db/aggregate-store";
import { iso, isoRequired, type SqlClient } from "../../db/sql-client";
import type { ModelRef } from "../refs";
import type { TrainableModelCommand } from "./commands";
import type { TrainableModelEvent } from "./events";
import type { ModelKind } from "./kind";
import type { TrainableModelState } from "./state";

const tables: Record<ModelKind, { table: string; activeColumn: string }> = {
  voice_model: { table: "voice_models", activeColumn: "active_voice_model_id" },
  face_model: { table: "face_models", activeColumn: "active_face_model_id" },
};

type ModelStore = AggregateStore<
  TrainableModelState,
  TrainableModelEvent<ModelKind>,
  TrainableModelCommand<ModelKind>
>;

/** Reads and writes the models of one kind. */
export function modelStore(kind: ModelKind): ModelStore {
  const { table, activeColumn } = tables[kind];
  return {
    table,
    columns:
      "a.id, a.user_id, a.name, a.sample_seconds, a.status, a.quality_score, a.failure_reason, a.created_at, a.trained_at, a.updated_at, a.version",
    fromRow(row: Row): TrainableModelState {
      const status = row.status as TrainableModelState["status"];
      return {
        version: Number(row.version),
        modelId: row.id as string,
        userId: row.user_id as string,
        name: row.name as string,
        sampleSeconds: row.sample_seconds as number,
        status,
        qualityScore: row.quality_score as number | null,
        failureReason: row.failure_reason as string | null,
        registeredAt: isoRequired(row.created_at as Date),
        completedAt:
          status === "PENDING"
            ? null
            : iso((status === "TRAINED" ? row.trained_at : row.updated_at) as Date | null),
        activatedAt: null,
      };
    },
    save(b, before, after, events) {
      if (before.version === 0) {
        insertState(b, table, {
          id: [after.modelId, "uuid"],
          user_id: [after.userId, "uuid"],
          name: [after.name, "text"],
          sample_seconds: [after.sampleSeconds, "float8"],
          status: [after.status, "text"],
          created_at: [after.registeredAt, "timestamptz"],
          updated_at: [after.registeredAt, "timestamptz"],
          version: [after.version, "bigint"],
        });
      } else {
        const status = b.param(after.status, "text");
        updateState(
          b,
          table,
          `status = ${status}, quality_score = ${b.param(after.qualityScore, "float8")},
           failure_reason = ${b.param(after.failureReason, "text")},
           trained_at = CASE WHEN ${status} = 'TRAINED' THEN ${b.param(after.completedAt, "timestamptz")} ELSE trained_at END,
           updated_at = GREATEST(updated_at, ${b.param(after.activatedAt ?? after.completedAt ?? after.registeredAt, "timestamptz")}),
           version = ${b.param(after.version, "bigint")}`,
          after.modelId,
          before.version,
        );
      }
      if (events.some((e) => e.type.endsWith(".activated"))) {
        b.cte(
          "activate",
          `UPDATE users SET ${activeColumn} = ${b.param(after.modelId, "uuid")}
            WHERE id = ${b.param(after.userId, "uuid")} RETURNING 1`,
        );
        // Another command of the same batch may update this user row in the same statement: Postgres would
        // skip this update silently, so it must be seen to have happened.
        b.expectOne("activate");
      }
    },
  };
}

/** A model named by another aggregate's command. */
export async function loadModelRef(client: SqlClient, kind: ModelKind, id: string): Promise<ModelRef> {
  const res = await client.query<{ user_id: string; status: TrainableModelState["status"] }>({
    name: `${kind}_ref`,
    text: `SELECT user_id, status FROM ${tables[kind].table} WHERE id = $1`,
    values: [id],
  });
  const row = res.rows[0];
  return row ? { exists: true, userId: row.user_id, status: row.status } : { exists: false };
}
