/**
 * Test support: the six read views computed in memory, as a pure fold over domain events in the order they
 * were applied. Tests compare it with what the SQL views hold (see `snapshot.testkit.ts`), so the rules of
 * each view are written down twice, independently.
 *
 * Rows come out in the normalized form of {@link ViewSnapshot}: timestamps as ISO strings, bigints as numbers,
 * NULL as null, each view sorted by its primary key.
 */
import type { DomainEvent } from "../domain";
import { readViews, type ViewName, viewNames } from "./views";
import { foldEvents, type Model, type Turn, type World } from "./world.testkit";

/** A row with comparable values. */
export type SnapshotRow = Readonly<Record<string, string | number | boolean | null>>;

/** Every view's rows, sorted by primary key. */
export type ViewSnapshot = { readonly [V in ViewName]: readonly SnapshotRow[] };

/** The latest of some ISO timestamps (all from `toISOString`, so they sort as text); null if none. */
function latest(values: readonly (string | null)[]): string | null {
  let max: string | null = null;
  for (const v of values) if (v !== null && (max === null || v > max)) max = v;
  return max;
}

function cloneLatency(turns: readonly Turn[]): number {
  const clone = turns.filter((t) => t.speaker === "CLONE");
  return clone.length === 0 ? 0 : clone.reduce((s, t) => s + t.latencyMs, 0) / clone.length;
}

const sumAudio = (turns: readonly Turn[]) => turns.reduce((s, t) => s + t.audioMs, 0);

/** The views the events lead to. */
export function expectedViews(events: readonly DomainEvent[]): ViewSnapshot {
  return project(foldEvents(events));
}

function project(w: World): ViewSnapshot {
  const live = (userId: string) => w.users.get(userId)?.deleted === false;
  const docs = [...w.docs].filter(([, d]) => !d.deleted && live(d.userId));
  const convs = [...w.conversations].filter(([, c]) => live(c.userId));
  const users = [...w.users].filter(([, u]) => !u.deleted);
  const views = {
    user_profile_view: users.map(([id, u]) => ({
      user_id: id,
      email: u.email,
      display_name: u.displayName,
      active_voice_model_id: u.active.voice_model,
      active_voice_model_name: nameOf(w.models.voice_model, u.active.voice_model),
      active_face_model_id: u.active.face_model,
      active_face_model_name: nameOf(w.models.face_model, u.active.face_model),
      created_at: u.createdAt,
      updated_at: u.updatedAt,
      version: u.version,
    })),
    user_statistics_view: users.map(([id]) => userStatistics(w, id)),
    document_summary_view: docs.map(([id, d]) => ({
      document_id: id,
      user_id: d.userId,
      title: d.title,
      content_type: d.contentType,
      status: d.status,
      size_bytes: d.sizeBytes,
      word_count: d.wordCount,
      chunk_count: d.chunkCount,
      failure_reason: d.failureReason,
      uploaded_at: d.uploadedAt,
      processed_at: d.processedAt,
    })),
    conversation_session_summary_view: convs.map(([id, c]) => ({
      conversation_id: id,
      user_id: c.userId,
      status: c.status,
      voice_model_id: c.voiceModelId,
      face_model_id: c.faceModelId,
      turn_count: c.turns.length,
      user_turns: c.turns.filter((t) => t.speaker === "USER").length,
      clone_turns: c.turns.filter((t) => t.speaker === "CLONE").length,
      total_audio_ms: sumAudio(c.turns),
      avg_clone_latency_ms: cloneLatency(c.turns),
      started_at: c.startedAt,
      ended_at: c.endedAt,
      last_turn_at: c.turns.at(-1)?.recordedAt ?? null,
    })),
    voice_model_summary_view: modelSummaries(w, "voice_model", live),
    face_model_summary_view: modelSummaries(w, "face_model", live),
  };
  return sortSnapshot(views);
}

function nameOf(models: ReadonlyMap<string, Model>, id: string | null): string | null {
  return id === null ? null : (models.get(id)?.name ?? null);
}

function userStatistics(w: World, userId: string): SnapshotRow {
  const convs = [...w.conversations.values()].filter((c) => c.userId === userId);
  const turns = convs.flatMap((c) => c.turns);
  const docs = [...w.docs.values()].filter((d) => d.userId === userId && !d.deleted);
  const voice = [...w.models.voice_model.values()].filter((m) => m.userId === userId);
  const face = [...w.models.face_model.values()].filter((m) => m.userId === userId);
  return {
    user_id: userId,
    conversations_total: convs.length,
    conversations_active: convs.filter((c) => c.status === "ACTIVE").length,
    turns_total: turns.length,
    documents_total: docs.length,
    documents_processed: docs.filter((d) => d.status === "PROCESSED").length,
    voice_models_total: voice.length,
    face_models_total: face.length,
    total_audio_ms: sumAudio(turns),
    avg_clone_latency_ms: cloneLatency(turns),
    last_active_at: latest([
      ...convs.flatMap((c) => [c.startedAt, c.endedAt]),
      ...turns.map((t) => t.recordedAt),
      ...docs.map((d) => d.uploadedAt),
      ...[...voice, ...face].map((m) => m.createdAt),
    ]),
  };
}

function modelSummaries(
  w: World,
  kind: "voice_model" | "face_model",
  live: (userId: string) => boolean,
): SnapshotRow[] {
  const column = kind === "voice_model" ? "voiceModelId" : "faceModelId";
  return [...w.models[kind]]
    .filter(([, m]) => live(m.userId))
    .map(([id, m]) => {
      const convs = [...w.conversations.values()].filter((c) => c[column] === id);
      const clone = convs.flatMap((c) => c.turns).filter((t) => t.speaker === "CLONE");
      return {
        [`${kind}_id`]: id,
        user_id: m.userId,
        name: m.name,
        status: m.status,
        quality_score: m.qualityScore,
        is_active: w.users.get(m.userId)?.active[kind] === id,
        conversations_count: convs.length,
        clone_turns_count: clone.length,
        total_audio_ms: sumAudio(clone),
        last_used_at: latest([...convs.map((c) => c.startedAt), ...clone.map((t) => t.recordedAt)]),
        created_at: m.createdAt,
      };
    });
}

/** Sorts each view's rows by its primary key (as text, as the snapshot of the tables does). */
export function sortSnapshot(views: { readonly [V in ViewName]: readonly SnapshotRow[] }): ViewSnapshot {
  const sorted = {} as { [V in ViewName]: SnapshotRow[] };
  for (const view of viewNames) {
    const key = readViews[view].keyColumn;
    sorted[view] = [...views[view]].sort((a, b) => compareText(String(a[key]), String(b[key])));
  }
  return sorted;
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The rows of some users only (every view has a user_id column). */
export function onlyUsers(snapshot: ViewSnapshot, userIds: readonly string[]): ViewSnapshot {
  const wanted = new Set(userIds);
  const out = {} as { [V in ViewName]: readonly SnapshotRow[] };
  for (const view of viewNames) out[view] = snapshot[view].filter((r) => wanted.has(String(r.user_id)));
  return out;
}
