import { describe, expect, test } from "bun:test";
import { DeciderSpecification, fixedNow } from "../decider-specification";
import type { ModelRef, UserWithActiveModelsRef } from "../refs";
import type { RecordConversationTurn, StartConversation, StartConversationRefs } from "./commands";
import { conversationDecider } from "./decider";
import type { ConversationEvent } from "./events";

const conversationId = "00000000-0000-4000-8000-0000000000c1";
const userId = "00000000-0000-4000-8000-000000000001";
const otherUserId = "00000000-0000-4000-8000-000000000002";
const voiceId = "00000000-0000-4000-8000-0000000000a1";
const faceId = "00000000-0000-4000-8000-0000000000b1";
const activeVoiceId = "00000000-0000-4000-8000-0000000000a2";
const activeFaceId = "00000000-0000-4000-8000-0000000000b2";
const at = fixedNow.toISOString();
const earlier = "2030-01-01T00:00:00.000Z";
const spec = DeciderSpecification.for(conversationDecider);

const user = (overrides: Partial<UserWithActiveModelsRef> = {}): UserWithActiveModelsRef => ({
  exists: true,
  deleted: false,
  activeVoiceModelId: activeVoiceId,
  activeFaceModelId: activeFaceId,
  ...overrides,
});
const trainedModel: ModelRef = { exists: true, userId, status: "TRAINED" };

const start = (
  named: { voiceModelId?: string; faceModelId?: string } = {},
  refs: Partial<StartConversationRefs> = {},
): StartConversation & { refs: StartConversationRefs } => ({
  type: "StartConversation",
  conversationId,
  userId,
  voiceModelId: named.voiceModelId ?? null,
  faceModelId: named.faceModelId ?? null,
  refs: { user: user(), ...refs },
});
const turn: RecordConversationTurn = {
  type: "RecordConversationTurn",
  conversationId,
  speaker: "CLONE",
  text: "Hello!",
  audioMs: 1200,
  latencyMs: 180,
};
const end = { type: "EndConversation", conversationId } as const;

const started: ConversationEvent = {
  type: "conversation.started",
  data: { conversationId, userId, voiceModelId: voiceId, faceModelId: null, startedAt: earlier },
};
const turnRecorded = (sequence: number): ConversationEvent => ({
  type: "conversation.turn_recorded",
  data: {
    ...{ conversationId, userId, voiceModelId: voiceId, faceModelId: null, sequence },
    ...{ speaker: "USER", text: "hi", audioMs: 10, latencyMs: 0, recordedAt: earlier },
  },
});
const ended: ConversationEvent = {
  type: "conversation.ended",
  data: { conversationId, userId, turnCount: 0, endedAt: earlier },
};
const startedWith = (voiceModelId: string | null, faceModelId: string | null): ConversationEvent[] => [
  {
    type: "conversation.started",
    data: { conversationId, userId, voiceModelId, faceModelId, startedAt: at },
  },
];

describe("StartConversation", () => {
  test("uses the user's active models when none are named", () =>
    spec.given([]).when(start()).then(startedWith(activeVoiceId, activeFaceId)));
  test("allows a user without active models", () =>
    spec
      .given([])
      .when(start({}, { user: user({ activeVoiceModelId: null, activeFaceModelId: null }) }))
      .then(startedWith(null, null)));
  test("uses the named models", () =>
    spec
      .given([])
      .when(
        start(
          { voiceModelId: voiceId, faceModelId: faceId },
          { voiceModel: trainedModel, faceModel: trainedModel },
        ),
      )
      .then(startedWith(voiceId, faceId)));
  test("mixes a named model with the active one", () => {
    spec
      .given([])
      .when(start({ faceModelId: faceId }, { faceModel: trainedModel }))
      .then(startedWith(activeVoiceId, faceId));
    spec
      .given([])
      .when(start({ faceModelId: faceId }, { faceModel: trainedModel }))
      .thenState((s) => expect(s).toMatchObject({ status: "ACTIVE", turnCount: 0, version: 1 }));
  });
  test("rejects a used id", () =>
    spec.given([started]).when(start()).thenFails("ALREADY_EXISTS", conversationId));
  test("rejects a missing user", () =>
    spec
      .given([])
      .when(start({}, { user: user({ exists: false }) }))
      .thenFails("NOT_FOUND", userId));
  test("rejects a deleted user", () =>
    spec
      .given([])
      .when(start({}, { user: user({ deleted: true }) }))
      .thenFails("NOT_FOUND", userId));
  test("rejects a named voice model that does not exist", () =>
    spec
      .given([])
      .when(start({ voiceModelId: voiceId }, { voiceModel: { exists: false } }))
      .thenFails("NOT_FOUND", voiceId));
  test("rejects a named model that was not looked up", () =>
    spec
      .given([])
      .when(start({ voiceModelId: voiceId }))
      .thenFails("NOT_FOUND", voiceId));
  test("rejects a named face model of another user", () =>
    spec
      .given([])
      .when(start({ faceModelId: faceId }, { faceModel: { ...trainedModel, userId: otherUserId } }))
      .thenFails("NOT_FOUND", faceId));
  test("rejects a named model that is not TRAINED", () => {
    spec
      .given([])
      .when(start({ voiceModelId: voiceId }, { voiceModel: { exists: true, userId, status: "PENDING" } }))
      .thenFails("FAILED_PRECONDITION", voiceId);
    spec
      .given([])
      .when(start({ faceModelId: faceId }, { faceModel: { exists: true, userId, status: "FAILED" } }))
      .thenFails("FAILED_PRECONDITION", faceId);
  });
});

describe("RecordConversationTurn", () => {
  test("records the first turn as sequence 1", () =>
    spec
      .given([started])
      .when(turn)
      .then([
        {
          type: "conversation.turn_recorded",
          data: {
            ...{ conversationId, userId, voiceModelId: voiceId, faceModelId: null, sequence: 1 },
            ...{ speaker: "CLONE", text: "Hello!", audioMs: 1200, latencyMs: 180, recordedAt: at },
          },
        },
      ]));
  test("numbers turns in the order applied", () =>
    spec
      .given([started, turnRecorded(1), turnRecorded(2)])
      .when(turn)
      .thenState((s) => expect(s).toMatchObject({ turnCount: 3, lastTurnAt: at, version: 4 })));
  test("rejects a missing conversation", () =>
    spec.given([]).when(turn).thenFails("NOT_FOUND", conversationId));
  test("rejects an ended conversation", () =>
    spec.given([started, ended]).when(turn).thenFails("FAILED_PRECONDITION", "ENDED"));
});

describe("EndConversation", () => {
  test("ends the conversation", () =>
    spec
      .given([started, turnRecorded(1)])
      .when(end)
      .then([{ type: "conversation.ended", data: { conversationId, userId, turnCount: 1, endedAt: at } }]));
  test("rejects a missing conversation", () => spec.given([]).when(end).thenFails("NOT_FOUND"));
  test("rejects an ended conversation", () =>
    spec.given([started, ended]).when(end).thenFails("FAILED_PRECONDITION"));
});
