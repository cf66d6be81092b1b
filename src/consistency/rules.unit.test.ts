import { describe, expect, test } from "bun:test";
import { eventTypes } from "../domain";
import type { PublishedEvent } from "../outbox";
import { consistencyRules, ruleFor } from "./rules";

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
    expect(rule?.refreshes(e)).toEqual([
      { view: "conversation_session_summary_view", column: "conversation_id", keys: ["c1"] },
      { view: "user_statistics_view", column: "user_id", keys: ["u1"] },
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
      { view: "face_model_summary_view", column: "face_model_id", keys: ["m2", "m1"] },
      { view: "user_profile_view", column: "user_id", keys: ["u"] },
    ]);
  });

  test("deleting a user refreshes every view of that user, by user id", () => {
    const e = event("user.deleted", { userId: "u" });
    const refreshes = ruleFor(e.type)?.refreshes(e) ?? [];
    expect(refreshes).toHaveLength(6);
    for (const r of refreshes) expect(r).toMatchObject({ column: "user_id", keys: ["u"] });
  });

  test("every rule coalesces for a short delay only", () => {
    for (const r of consistencyRules) expect(r.refreshDelay).toBeLessThanOrEqual(50);
  });
});
