import { describe, expect, test } from "bun:test";
import { AppError } from "../../errors";
import { commandOptionsOf } from "./options";
import { validateCommand, validateCommandRequest } from "./validate-command";

const userId = "00000000-0000-4000-8000-000000000001";
const otherId = "00000000-0000-4000-8000-000000000002";
const counter = () => {
  let n = 0;
  return () => `generated-${++n}`;
};

/** The violations `validateCommand` throws for a request, as `field: description`. */
function violations(rpc: Parameters<typeof validateCommand>[0], message: unknown): string[] {
  try {
    validateCommand(rpc, message, counter());
  } catch (error) {
    if (!(error instanceof AppError)) throw error;
    expect(error.code).toBe("INVALID_ARGUMENT");
    expect(error.message).toBe(error.violations.map((v) => `${v.field}: ${v.description}`).join("; "));
    return error.violations.map((v) => `${v.field}: ${v.description}`);
  }
  throw new Error("expected INVALID_ARGUMENT");
}

describe("valid requests become domain commands", () => {
  test("CreateUser generates a missing id and trims the display name", () => {
    const message = {
      $typeName: "clone.v1.CreateUserRequest",
      userId: "",
      email: "a@b.io",
      displayName: "  Ada ",
    };
    expect(validateCommand("CreateUser", message, counter())).toEqual({
      type: "CreateUser",
      userId: "generated-1",
      email: "a@b.io",
      displayName: "Ada",
    });
  });

  test("ids are lowercased", () => {
    const message = { userId: "00000000-0000-4000-8000-00000000000A" };
    expect(validateCommand("DeleteUser", message, counter())).toEqual({
      type: "DeleteUser",
      userId: "00000000-0000-4000-8000-00000000000a",
    });
  });

  test("UpdateUserProfile keeps unset fields undefined", () => {
    const command = validateCommand("UpdateUserProfile", { userId, displayName: "Bo" }, counter());
    expect(command).toEqual({ type: "UpdateUserProfile", userId, email: undefined, displayName: "Bo" });
  });

  test("model commands use modelId and keep only the relevant training result", () => {
    const register = { voiceModelId: "", userId, name: " Mine ", sampleSeconds: 12.5 };
    expect(validateCommand("RegisterVoiceModel", register, counter())).toEqual({
      type: "RegisterVoiceModel",
      modelId: "generated-1",
      userId,
      name: "Mine",
      sampleSeconds: 12.5,
    });
    const failed = {
      faceModelId: otherId,
      succeeded: false,
      qualityScore: Number.NaN,
      failureReason: "blurry",
    };
    expect(validateCommand("CompleteFaceModelTraining", failed, counter())).toEqual({
      type: "CompleteFaceModelTraining",
      modelId: otherId,
      succeeded: false,
      qualityScore: 0,
      failureReason: "blurry",
    });
    expect(validateCommand("ActivateFaceModel", { faceModelId: otherId }, counter())).toEqual({
      type: "ActivateFaceModel",
      modelId: otherId,
    });
  });

  test("UploadDocument passes the content on; processing results keep what matters", () => {
    const content = new TextEncoder().encode("{}");
    const upload = { documentId: "", userId, title: "T", contentType: "application/json", content };
    expect(validateCommand("UploadDocument", upload, counter())).toEqual({
      type: "UploadDocument",
      documentId: "generated-1",
      userId,
      title: "T",
      contentType: "application/json",
      content,
    });
    const result = { documentId: otherId, succeeded: true, failureReason: "", chunks: ["a b"], wordCount: 2 };
    expect(validateCommand("RecordDocumentProcessing", result, counter())).toMatchObject({
      chunks: ["a b"],
      wordCount: 2,
    });
  });

  test("StartConversation: empty model ids mean the active ones (null)", () => {
    const message = { conversationId: "", userId, voiceModelId: otherId, faceModelId: "" };
    expect(validateCommand("StartConversation", message, counter())).toEqual({
      type: "StartConversation",
      conversationId: "generated-1",
      userId,
      voiceModelId: otherId,
      faceModelId: null,
    });
  });

  test("RecordConversationTurn maps the Speaker enum", () => {
    const turn = { conversationId: otherId, speaker: 2, text: "hi", audioMs: 0, latencyMs: 4_294_967_295 };
    expect(validateCommand("RecordConversationTurn", turn, counter())).toMatchObject({ speaker: "CLONE" });
    expect(validateCommand("RecordConversationTurn", { ...turn, speaker: 1 }, counter())).toMatchObject({
      speaker: "USER",
    });
  });

  test("no id is generated for an invalid request", () => {
    let calls = 0;
    const newId = () => `x-${++calls}`;
    expect(() => validateCommand("CreateUser", { userId: "", email: "", displayName: "A" }, newId)).toThrow();
    expect(calls).toBe(0);
  });
});

describe("command options", () => {
  test("default to no key and no expected version", () => {
    expect(commandOptionsOf({ options: undefined })).toEqual({ commandId: "", expectedVersion: undefined });
    expect(commandOptionsOf({ options: { commandId: "", expectedVersion: undefined } })).toEqual({
      commandId: "",
      expectedVersion: undefined,
    });
  });

  test("come back with the command", () => {
    const options = { commandId: "retry:42_a.b-c", expectedVersion: 0n };
    expect(validateCommandRequest("DeleteUser", { options, userId }, counter()).options).toEqual(options);
  });

  test("are validated", () => {
    expect(
      violations("DeleteUser", { userId, options: { commandId: "x".repeat(129), expectedVersion: -1n } }),
    ).toEqual([
      "options.command_id: must be 1..128 characters of A-Z a-z 0-9 . _ : -",
      "options.expected_version: must be >= 0",
    ]);
    expect(() => commandOptionsOf({ options: { commandId: "a b" } })).toThrow(AppError);
  });
});
