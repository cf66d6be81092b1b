/** The `users` table: load a user's state, save it after a decision, and the facts other aggregates need. */
import type { UserEvent, UserRef, UserState, UserWithActiveModelsRef } from "../domain";
import { iso, isoRequired, type SqlClient, updateVersioned } from "./sql-client";

interface UserRow {
  id: string;
  email: string;
  display_name: string;
  active_voice_model_id: string | null;
  active_face_model_id: string | null;
  created_at: Date;
  updated_at: Date;
  deleted_at: Date | null;
  version: string;
}

async function selectUser(client: SqlClient, id: string): Promise<UserRow | undefined> {
  const res = await client.query<UserRow>(
    `SELECT id, email, display_name, active_voice_model_id, active_face_model_id, created_at, updated_at,
            deleted_at, version
       FROM users WHERE id = $1`,
    [id],
  );
  return res.rows[0];
}

/** The state of a user (version 0 when it does not exist). */
export async function loadUser(client: SqlClient, id: string): Promise<UserState | undefined> {
  const row = await selectUser(client, id);
  if (!row) return undefined;
  return {
    version: Number(row.version),
    userId: row.id,
    email: row.email,
    displayName: row.display_name,
    deleted: row.deleted_at !== null,
    createdAt: isoRequired(row.created_at),
    updatedAt: isoRequired(row.updated_at),
    deletedAt: iso(row.deleted_at),
  };
}

/** A user referred to by another aggregate's command, with its active models. */
export async function loadUserRef(client: SqlClient, id: string): Promise<UserWithActiveModelsRef> {
  const row = await selectUser(client, id);
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

/** Writes a user's new state (insert when new, else a version-checked update). */
export async function saveUser(
  client: SqlClient,
  before: UserState,
  after: UserState,
  _events: readonly UserEvent[],
): Promise<void> {
  if (before.version === 0) {
    await client.query(
      `INSERT INTO users (id, email, display_name, created_at, updated_at, version)
       VALUES ($1, $2, $3, $4, $5, $6)`,
      [after.userId, after.email, after.displayName, after.createdAt, after.updatedAt, after.version],
    );
    return;
  }
  await updateVersioned(
    client,
    "user",
    after.userId,
    `UPDATE users SET email = $2, display_name = $3, updated_at = $4, deleted_at = $5, version = $6
      WHERE id = $1 AND version = $7`,
    [
      after.userId,
      after.email,
      after.displayName,
      after.updatedAt,
      after.deletedAt,
      after.version,
      before.version,
    ],
  );
}
