import { describe, expect, test } from "bun:test";
import { eventTypes } from "../domain";
import type { PublishedEvent } from "../outbox";
import { consistencyRules, ruleFor, viewsOfQuery } from "./views";

function event(type: string, data: Record<string, unknown>): PublishedEvent {
  return {
    eventId: crypto.randomUUID(),
    type,
    aggregateType: type.split(".")[0] as string,
    aggregateId: crypto.randomUUID(),
    aggregateVersion: 1,
    position: "1",
    transactionId: "1",
    token: "c1.x",
    committedAt: new Date().toISOString(),
    data,
    metadata: {},
  };
}

describe("consistency rules", () => {
  test("there is exactly one rule for every event type of API.md", () => {
    expect(consistencyRules.map((r) => r.eventType).sort()).toEqual([...eventTypes].sort());
  });

  test("a recorded turn refreshes the conversation, the user's statistics and both models' summaries", () => {
    const e = event("conversation.turn_recorded", {
      conversationId: "c1",
      userId: "u1",
      voiceModelId: "v1",
      faceModelId: null,
    });
    const rule = ruleFor(e.type);
    // Views in registry order.
    expect(rule?.refreshes(e)).toEqual([
      { view: "user_statistics_view", column: "user_id", keys: ["u1"] },
      { view: "conversation_session_summary_view", column: "conversation_id", keys: ["c1"] },
      { view: "voice_model_summary_view", column: "voice_model_id", keys: ["v1"] },
    ]);
    expect(rule?.invalidations(e)).toContainEqual({
      queryType: "GetConversationHistory",
      tag: "conversation:c1",
    });
    expect(rule?.invalidations(e)).toContainEqual({ queryType: "GetUserStatistics", tag: "user:u1" });
  });

  test("activating a model refreshes the new and the previous model and the profile", () => {
    const e = event("face_model.activated", { modelId: "m2", previousModelId: "m1", userId: "u" });
    expect(ruleFor(e.type)?.refreshes(e)).toEqual([
      { view: "user_profile_view", column: "user_id", keys: ["u"] },
      { view: "face_model_summary_view", column: "face_model_id", keys: ["m2", "m1"] },
    ]);
  });

  test("deleting a user refreshes every view of that user, by user id", () => {
    const e = event("user.deleted", { userId: "u" });
    const refreshes = ruleFor(e.type)?.refreshes(e) ?? [];
    expect(refreshes).toHaveLength(6);
    for (const r of refreshes) expect(r).toMatchObject({ column: "user_id", keys: ["u"] });
  });

  test("deleting a user drops every cached answer of that user, a conversation's history by its owner's tag", () => {
    const e = event("user.deleted", { userId: "u" });
    const dropped = (ruleFor(e.type)?.invalidations(e) ?? []).map((i) => `${i.queryType} ${i.tag}`).sort();
    expect(dropped).toEqual(
      [
        "GetConversationHistory",
        "GetUserProfile",
        "GetUserStatistics",
        "ListConversations",
        "ListDocuments",
        "ListFaceModels",
        "ListVoiceModels",
        "SearchDocuments",
      ].map((q) => `${q} user:u`),
    );
  });

  test("derived from the view definitions, the rules refresh what the hand-written ones did", () => {
    // The table the definitions replaced (src/consistency/rules.ts): event type -> view:column refreshed.
    const model = (kind: "voice" | "face") => `${kind}_model_summary_view:${kind}_model_id`;
    const expected: Record<string, string[]> = {
      "user.created": ["user_profile_view:user_id", "user_statistics_view:user_id"],
      "user.profile_updated": ["user_profile_view:user_id"],
      "user.deleted": [
        "user_profile_view:user_id",
        "user_statistics_view:user_id",
        "document_summary_view:user_id",
        "conversation_session_summary_view:user_id",
        "voice_model_summary_view:user_id",
        "face_model_summary_view:user_id",
      ],
    };
    for (const kind of ["voice", "face"] as const) {
      expected[`${kind}_model.registered`] = [model(kind), "user_statistics_view:user_id"];
      expected[`${kind}_model.trained`] = [model(kind)];
      expected[`${kind}_model.training_failed`] = [model(kind)];
      expected[`${kind}_model.activated`] = [model(kind), "user_profile_view:user_id"];
    }
    for (const t of ["uploaded", "processed", "processing_failed", "deleted"]) {
      expected[`document.${t}`] = ["document_summary_view:document_id", "user_statistics_view:user_id"];
    }
    for (const t of ["started", "turn_recorded", "ended"]) {
      expected[`conversation.${t}`] = [
        "conversation_session_summary_view:conversation_id",
        "user_statistics_view:user_id",
        model("voice"),
        model("face"),
      ];
    }
    const data = Object.fromEntries(
      [
        "userId",
        "modelId",
        "previousModelId",
        "documentId",
        "conversationId",
        "voiceModelId",
        "faceModelId",
      ].map((f) => [f, f]),
    );
    for (const type of eventTypes) {
      const refreshed = (ruleFor(type)?.refreshes(event(type, data)) ?? []).map(
        (r) => `${r.view}:${r.column}`,
      );
      expect({ type, refreshed: refreshed.sort() }).toEqual({
        type,
        refreshed: (expected[type] ?? []).sort(),
      });
    }
  });

  test("each cached query reads the view it read before", () => {
    expect(viewsOfQuery).toEqual({
      GetUserProfile: ["user_profile_view"],
      GetUserStatistics: ["user_statistics_view"],
      ListDocuments: ["document_summary_view"],
      SearchDocuments: ["document_summary_view"],
      ListConversations: ["conversation_session_summary_view"],
      GetConversationHistory: ["conversation_session_summary_view"],
      ListVoiceModels: ["voice_model_summary_view"],
      ListFaceModels: ["face_model_summary_view"],
    });
  });

  test("every rule coalesces for a short delay only", () => {
    for (const r of consistencyRules) expect(r.refreshDelay).toBeLessThanOrEqual(50);
  });
});
