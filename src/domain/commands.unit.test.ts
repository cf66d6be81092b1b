import { describe, expect, test } from "bun:test";
import { aggregateOf, commandTypes } from "./commands";
import { aggregateTypeOfEvent, eventTypes, isEventType } from "./events";

describe("aggregateOf", () => {
  test("routes every command to its aggregate", () => {
    const id = "00000000-0000-4000-8000-000000000001";
    expect(aggregateOf({ type: "DeleteUser", userId: id })).toEqual({ type: "user", id });
    expect(aggregateOf({ type: "ActivateVoiceModel", modelId: id })).toEqual({ type: "voice_model", id });
    expect(aggregateOf({ type: "ActivateFaceModel", modelId: id })).toEqual({ type: "face_model", id });
    expect(aggregateOf({ type: "DeleteDocument", documentId: id })).toEqual({ type: "document", id });
    expect(aggregateOf({ type: "EndConversation", conversationId: id })).toEqual({
      type: "conversation",
      id,
    });
  });
  test("knows all fifteen command types", () => expect(new Set(commandTypes).size).toBe(15));
});

describe("eventTypes", () => {
  test("are exactly those of API.md", () => {
    expect([...eventTypes]).toEqual([
      "user.created",
      "user.profile_updated",
      "user.deleted",
      "voice_model.registered",
      "voice_model.trained",
      "voice_model.training_failed",
      "voice_model.activated",
      "face_model.registered",
      "face_model.trained",
      "face_model.training_failed",
      "face_model.activated",
      "document.uploaded",
      "document.processed",
      "document.processing_failed",
      "document.deleted",
      "conversation.started",
      "conversation.turn_recorded",
      "conversation.ended",
    ]);
  });
  test("name their aggregate", () => {
    expect(aggregateTypeOfEvent("face_model.training_failed")).toBe("face_model");
    expect(aggregateTypeOfEvent("conversation.turn_recorded")).toBe("conversation");
    expect(isEventType("user.created")).toBe(true);
    expect(isEventType("user.renamed")).toBe(false);
  });
});
