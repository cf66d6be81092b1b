/** The `users` table: a user's state, and the facts other aggregates' commands need about a user. */

import type { AggregateStore, Row } from "../../db/aggregate-store";
import { insertState, updateState } from "../../db/aggregate-store";
import { iso, isoRequired, type SqlClient } from "../../db/sql-client";
import type { UserRef, UserWithActiveModelsRef } from "../refs";
import type { UserCommand } from "./commands";
import type { UserEvent } from "./events";
import type { UserState } from "./state";

/** Reads and writes users. */
export const userStore: AggregateStore<UserState, UserEvent, UserCommand> = {
  table: "users",
  columns: "a.id, a.email, a.display_name, a.created_at, a.updated_at, a.deleted_at, a.version",
  fromRow(row: Row): UserState {
    return {
      version: Number(row.version),
      userId: row.id as string,
      email: row.email as string,
      displayName: row.display_name as string,
      deleted: row.deleted_at !== null,
      createdAt: isoRequired(row.created_at as Date),
      updatedAt: isoRequired(row.updated_at as Date),
      deletedAt: iso(row.deleted_at as Date | null),
    };
  },
  save(b, before, after) {
    if (before.version === 0) {
      insertState(b, "users", {
        id: [after.userId, "uuid"],
        email: [after.email, "text"],
        display_name: [after.displayName, "text"],
        created_at: [after.createdAt, "timestamptz"],
        updated_at: [after.updatedAt, "timestamptz"],
        version: [after.version, "bigint"],
      });
      return;
    }
    updateState(
      b,
      "users",
      `email = ${b.param(after.email, "text")}, display_name = ${b.param(after.displayName, "text")},
       updated_at = ${b.param(after.updatedAt, "timestamptz")}, deleted_at = ${b.param(after.deletedAt, "timestamptz")},
       version = ${b.param(after.version, "bigint")}`,
      after.userId,
      before.version,
    );
  },
};

/** A user referred to by another aggregate's command, with its active models. */
export async function loadUserRef(client: SqlClient, id: string): Promise<UserWithActiveModelsRef> {
  const res = await client.query<{
    deleted_at: Date | null;
    active_voice_model_id: string | null;
    active_face_model_id: string | null;
  }>({
    name: "user_ref",
    text: "SELECT deleted_at, active_voice_model_id, active_face_model_id FROM users WHERE id = $1",
    values: [id],
  });
  const row = res.rows[0];
  if (!row) return { exists: false, deleted: false, activeVoiceModelId: null, activeFaceModelId: null };
  return {
    exists: true,
    deleted: row.deleted_at !== null,
    activeVoiceModelId: row.active_voice_model_id,
    activeFaceModelId: row.active_face_model_id,
  };
}

/** Only existence, for refs of type {@link UserRef}. */
export function asUserRef(ref: UserWithActiveModelsRef): UserRef {
  return { exists: ref.exists, deleted: ref.deleted };
}
