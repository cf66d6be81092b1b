/**
 * Test support: the write side as domain events tell it, a pure fold over events in the order they were
 * applied. `model.testkit.ts` projects it into the six views.
 */
import type { DomainEvent } from "../domain";

/** A user as its events tell it. */
export interface User {
  email: string;
  displayName: string;
  createdAt: string;
  updatedAt: string;
  version: number;
  deleted: boolean;
  active: { voice_model: string | null; face_model: string | null };
}
/** A voice or face model. */
export interface Model {
  userId: string;
  name: string;
  status: "PENDING" | "TRAINED" | "FAILED";
  qualityScore: number | null;
  createdAt: string;
}
/** A document. */
export interface Doc {
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
/** A recorded turn. */
export interface Turn {
  speaker: "USER" | "CLONE";
  audioMs: number;
  latencyMs: number;
  recordedAt: string;
}
/** A conversation and its turns in order. */
export interface Conversation {
  userId: string;
  status: "ACTIVE" | "ENDED";
  voiceModelId: string | null;
  faceModelId: string | null;
  startedAt: string;
  endedAt: string | null;
  turns: Turn[];
}

/** The write side as the events tell it. */
export interface World {
  users: Map<string, User>;
  models: { voice_model: Map<string, Model>; face_model: Map<string, Model> };
  docs: Map<string, Doc>;
  conversations: Map<string, Conversation>;
}

function must<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`event for unknown ${what}`);
  return value;
}

/** Applies one event to the world (mutating it). */
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

/** The world after `events`. */
export function foldEvents(events: readonly DomainEvent[]): World {
  const w: World = {
    users: new Map(),
    models: { voice_model: new Map(), face_model: new Map() },
    docs: new Map(),
    conversations: new Map(),
  };
  for (const e of events) apply(w, e);
  return w;
}
