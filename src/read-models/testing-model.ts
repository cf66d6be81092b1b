/**
 * Test support: the six read views computed in memory, as a pure fold over domain events in the order they
 * were applied. Tests compare it with what the SQL views hold (see `testing-snapshot.ts`), so the rules of
 * each view are written down twice, independently.
 *
 * Rows come out in the normalized form of {@link ViewSnapshot}: timestamps as ISO strings, bigints as numbers,
 * NULL as null, each view sorted by its primary key.
 */
import type { DomainEvent } from "../domain";
import { readViews, type ViewName, viewNames } from "./views";

/** A row with comparable values. */
export type SnapshotRow = Readonly<Record<string, string | number | boolean | null>>;

/** Every view's rows, sorted by primary key. */
export type ViewSnapshot = { readonly [V in ViewName]: readonly SnapshotRow[] };

interface User {
  email: string;
  displayName: string;
  createdAt: string;
  updatedAt: string;
  version: number;
  deleted: boolean;
  active: { voice_model: string | null; face_model: string | null };
}
interface Model {
  userId: string;
  name: string;
  status: "PENDING" | "TRAINED" | "FAILED";
  qualityScore: number | null;
  createdAt: string;
}
interface Doc {
  userId: string;
  title: string;
  contentType: string;
  sizeBytes: number;
  status: "UPLOADED" | "PROCESSED" | "FAILED";
  wordCount: number | null;
  chunkCount: number | null;
  failureReason: string | null;
  uploadedAt: string;
  processedAt: string | null;
  deleted: boolean;
}
interface Turn {
  speaker: "USER" | "CLONE";
  audioMs: number;
  latencyMs: number;
  recordedAt: string;
}
interface Conversation {
  userId: string;
  status: "ACTIVE" | "ENDED";
  voiceModelId: string | null;
  faceModelId: string | null;
  startedAt: string;
  endedAt: string | null;
  turns: Turn[];
}

/** The write side as the events tell it. */
interface World {
  users: Map<string, User>;
  models: { voice_model: Map<string, Model>; face_model: Map<string, Model> };
  docs: Map<string, Doc>;
  conversations: Map<string, Conversation>;
}

function must<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`event for unknown ${what}`);
  return value;
}

function apply(w: World, e: DomainEvent): void {
  switch (e.type) {
    case "user.created":
      w.users.set(e.data.userId, {
        email: e.data.email,
        displayName: e.data.displayName,
        createdAt: e.data.createdAt,
        updatedAt: e.data.createdAt,
        version: 1,
        deleted: false,
        active: { voice_model: null, face_model: null },
      });
      return;
    case "user.profile_updated": {
      const u = must(w.users.get(e.data.userId), "user");
      u.email = e.data.email ?? u.email;
      u.displayName = e.data.displayName ?? u.displayName;
      u.updatedAt = e.data.updatedAt;
      u.version += 1;
      return;
    }
    case "user.deleted":
      must(w.users.get(e.data.userId), "user").deleted = true;
      return;
    case "voice_model.registered":
    case "face_model.registered":
      w.models[kindOf(e.type)].set(e.data.modelId, {
        userId: e.data.userId,
        name: e.data.name,
        status: "PENDING",
        qualityScore: null,
        createdAt: e.data.registeredAt,
      });
      return;
    case "voice_model.trained":
    case "face_model.trained": {
      const m = must(w.models[kindOf(e.type)].get(e.data.modelId), "model");
      m.status = "TRAINED";
      m.qualityScore = e.data.qualityScore;
      return;
    }
    case "voice_model.training_failed":
    case "face_model.training_failed":
      must(w.models[kindOf(e.type)].get(e.data.modelId), "model").status = "FAILED";
      return;
    case "voice_model.activated":
    case "face_model.activated":
      must(w.users.get(e.data.userId), "user").active[kindOf(e.type)] = e.data.modelId;
      return;
    default:
      applyDocumentOrConversation(w, e);
  }
}

function applyDocumentOrConversation(w: World, e: DomainEvent): void {
  switch (e.type) {
    case "document.uploaded":
      w.docs.set(e.data.documentId, {
        userId: e.data.userId,
        title: e.data.title,
        contentType: e.data.contentType,
        sizeBytes: e.data.sizeBytes,
        status: "UPLOADED",
        wordCount: null,
        chunkCount: null,
        failureReason: null,
        uploadedAt: e.data.uploadedAt,
        processedAt: null,
        deleted: false,
      });
      return;
    case "document.processed":
      Object.assign(must(w.docs.get(e.data.documentId), "document"), {
        status: "PROCESSED",
        wordCount: e.data.wordCount,
        chunkCount: e.data.chunkCount,
        processedAt: e.data.processedAt,
      });
      return;
    case "document.processing_failed":
      Object.assign(must(w.docs.get(e.data.documentId), "document"), {
        status: "FAILED",
        failureReason: e.data.failureReason,
        processedAt: e.data.processedAt,
      });
      return;
    case "document.deleted":
      must(w.docs.get(e.data.documentId), "document").deleted = true;
      return;
    case "conversation.started":
      w.conversations.set(e.data.conversationId, {
        userId: e.data.userId,
        status: "ACTIVE",
        voiceModelId: e.data.voiceModelId,
        faceModelId: e.data.faceModelId,
        startedAt: e.data.startedAt,
        endedAt: null,
        turns: [],
      });
      return;
    case "conversation.turn_recorded": {
      const { speaker, audioMs, latencyMs, recordedAt } = e.data;
      must(w.conversations.get(e.data.conversationId), "conversation").turns.push({
        speaker,
        audioMs,
        latencyMs,
        recordedAt,
      });
      return;
    }
    case "conversation.ended": {
      const c = must(w.conversations.get(e.data.conversationId), "conversation");
      c.status = "ENDED";
      c.endedAt = e.data.endedAt;
      return;
    }
    default:
      throw new Error(`unexpected event ${e.type}`);
  }
}

function kindOf(type: string): "voice_model" | "face_model" {
  return type.startsWith("voice_model.") ? "voice_model" : "face_model";
}

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
  const w: World = {
    users: new Map(),
    models: { voice_model: new Map(), face_model: new Map() },
    docs: new Map(),
    conversations: new Map(),
  };
  for (const e of events) apply(w, e);
  return project(w);
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
