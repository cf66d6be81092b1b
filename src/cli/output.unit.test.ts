import { describe, expect, test } from "bun:test";
import { toJson } from "@bufbuild/protobuf";
import { ORIGIN } from "../contracts";
import { CommandService } from "../gen/clone/v1/command_service_pb";
import { Speaker } from "../gen/clone/v1/enums_pb";
import { createPublishedEvent } from "../outbox/published-event";
import type { ViewState } from "../read-models";
import { UsageError } from "./args";
import { computeViewLags, type LagEvent } from "./lag";
import { findMethod, parseRequest } from "./rpc";
import { formatTable, progressBar } from "./table";

const now = new Date("2030-01-01T00:01:00Z");
const userId = "11111111-1111-4111-8111-111111111111";
const conversationId = "22222222-2222-4222-8222-222222222222";

function event(position: number, type: string, data: Record<string, unknown>, ageMs: number): LagEvent {
  const committedAt = new Date(now.getTime() - ageMs);
  return {
    point: { transactionId: BigInt(100 + position), position: BigInt(position) },
    committedAt,
    event: createPublishedEvent({
      eventId: crypto.randomUUID(),
      type,
      aggregateType: type.split(".")[0] as string,
      aggregateId: userId,
      aggregateVersion: 1,
      position: String(position),
      transactionId: String(100 + position),
      committedAt: committedAt.toISOString(),
      data,
      metadata: {},
    }),
  };
}

const state = (view: ViewState["view"], position = 0): ViewState => ({
  view,
  applied: position === 0 ? ORIGIN : { transactionId: BigInt(100 + position), position: BigInt(position) },
  refreshedAt: null,
  lastFullRefreshAt: null,
});

describe("computeViewLags", () => {
  const events = [
    event(1, "user.created", { userId }, 5_000),
    event(2, "conversation.started", { conversationId, userId, voiceModelId: null }, 4_000),
    event(3, "conversation.turn_recorded", { conversationId, userId, voiceModelId: null }, 3_000),
    event(4, "user.profile_updated", { userId }, 2_000),
  ];

  test("a view owes only the events its rules refresh it for, after its applied point", () => {
    const lags = computeViewLags(
      [
        state("user_profile_view"),
        state("user_statistics_view", 2),
        state("conversation_session_summary_view"),
        state("face_model_summary_view"),
      ],
      ORIGIN,
      events,
      now,
    );
    expect(lags.map((l) => [l.view, l.behind, l.oldestUnappliedAgeMs])).toEqual([
      ["user_profile_view", 2, 5_000],
      ["user_statistics_view", 1, 3_000],
      ["conversation_session_summary_view", 2, 4_000],
      // No face model event, and conversations without a face model do not concern it: caught up.
      ["face_model_summary_view", 0, null],
    ]);
  });

  test("the consistency checkpoint counts as applied for every view", () => {
    const complete = { transactionId: 103n, position: 3n };
    const lags = computeViewLags(
      [state("user_profile_view"), state("user_statistics_view")],
      complete,
      events,
      now,
    );
    expect(lags.map((l) => l.behind)).toEqual([1, 0]);
  });

  test("a capped scan marks the views still behind", () => {
    const lags = computeViewLags(
      [state("user_profile_view"), state("face_model_summary_view")],
      ORIGIN,
      events,
      now,
      true,
    );
    expect(lags.map((l) => l.capped)).toEqual([true, false]);
  });
});

describe("text output", () => {
  test("tables align text left and numbers right", () => {
    expect(
      formatTable(
        ["view", "behind", "age"],
        [
          ["user_profile_view", 12, "-"],
          ["face_model_summary_view", 3, 1500],
        ],
      ),
    ).toBe(
      [
        "view                     behind   age",
        "-----------------------  ------  ----",
        "user_profile_view            12     -",
        "face_model_summary_view       3  1500",
      ].join("\n"),
    );
  });

  test("the progress bar", () => {
    expect(progressBar(3, 6, "user_statistics_view", 1.23)).toBe(
      "[#####-----] 3/6 user_statistics_view 1.2s",
    );
    expect(progressBar(0, 6, "user_profile_view", 0)).toBe("[----------] 0/6 user_profile_view 0.0s");
    expect(progressBar(6, 6, "done", 2)).toBe("[##########] 6/6 done 2.0s");
  });
});

describe("RPC requests in protobuf JSON form", () => {
  test("an RPC is found by its name or its local name; an unknown one lists them", () => {
    expect(findMethod(CommandService, "CreateUser").localName).toBe("createUser");
    expect(findMethod(CommandService, "recordConversationTurn").name).toBe("RecordConversationTurn");
    expect(() => findMethod(CommandService, "MakeCoffee")).toThrow(
      /has no RPC "MakeCoffee"; it has: CreateUser, /,
    );
  });

  test("JSON with camelCase or proto field names, enums by name; mistakes are usage errors", () => {
    const method = findMethod(CommandService, "RecordConversationTurn");
    const request = parseRequest(
      method,
      '{"options":{"command_id":"c1"},"conversationId":"x","speaker":"SPEAKER_CLONE","text":"hi","audioMs":5}',
    );
    expect(toJson(method.input, request)).toEqual({
      options: { commandId: "c1" },
      conversationId: "x",
      speaker: "SPEAKER_CLONE",
      text: "hi",
      audioMs: 5,
    });
    expect((request as { speaker?: Speaker }).speaker).toBe(Speaker.CLONE);
    expect(() => parseRequest(method, "{oops")).toThrow(/not valid JSON/);
    expect(() => parseRequest(method, '{"colour":"red"}')).toThrow(UsageError);
    expect(() => parseRequest(method, '{"colour":"red"}')).toThrow(
      /not a valid clone\.v1\.RecordConversationTurnRequest/,
    );
  });
});
