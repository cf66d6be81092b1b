import { describe, expect, test } from "bun:test";
import { AppError } from "../../errors";
import { codePoints } from "./fields";
import { validateCommand } from "./validate-command";
import { fieldPath } from "./violations";

const userId = "00000000-0000-4000-8000-000000000001";
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

describe("every violation is reported", () => {
  test("CreateUser", () => {
    expect(violations("CreateUser", { userId: "nope", email: "not-an-email", displayName: "   " })).toEqual([
      "user_id: must be a UUID or empty",
      "email: must be a valid email address",
      "display_name: is required and must not be blank",
    ]);
    expect(
      violations("CreateUser", {
        userId: "",
        email: `${"a".repeat(250)}@b.io`,
        displayName: "😀".repeat(101),
      }),
    ).toEqual(["email: must be at most 254 characters", "display_name: must be at most 100 characters"]);
  });

  test("display names count code points", () => {
    expect(
      validateCommand(
        "CreateUser",
        { userId: "", email: "a@b.io", displayName: "😀".repeat(100) },
        counter(),
      ),
    ).toMatchObject({
      displayName: "😀".repeat(100),
    });
  });

  test("UpdateUserProfile needs a field", () => {
    expect(violations("UpdateUserProfile", { userId: "" })).toEqual([
      "user_id: is required",
      "email: at least one of email or display_name must be set",
      "display_name: at least one of email or display_name must be set",
    ]);
  });

  test("models", () => {
    expect(violations("RegisterFaceModel", { faceModelId: "", userId, name: "", sampleSeconds: 0 })).toEqual([
      "name: is required and must not be blank",
      "sample_seconds: must be a finite number greater than 0",
    ]);
    expect(
      violations("RegisterVoiceModel", {
        voiceModelId: "",
        userId,
        name: "x".repeat(101),
        sampleSeconds: Infinity,
      }),
    ).toEqual([
      "name: must be at most 100 characters",
      "sample_seconds: must be a finite number greater than 0",
    ]);
    expect(
      violations("CompleteVoiceModelTraining", {
        voiceModelId: userId,
        succeeded: true,
        qualityScore: 1.01,
        failureReason: "",
      }),
    ).toEqual(["quality_score: must be between 0 and 1 when succeeded"]);
    expect(
      violations("CompleteVoiceModelTraining", {
        voiceModelId: userId,
        succeeded: false,
        qualityScore: 7,
        failureReason: " ",
      }),
    ).toEqual(["failure_reason: is required when training failed"]);
    expect(
      violations("CompleteFaceModelTraining", {
        faceModelId: userId,
        succeeded: false,
        qualityScore: 0,
        failureReason: "x".repeat(1001),
      }),
    ).toEqual(["failure_reason: must be at most 1000 characters"]);
    expect(violations("ActivateVoiceModel", { voiceModelId: "" })).toEqual(["voice_model_id: is required"]);
  });

  test("documents", () => {
    const tooBig = new Uint8Array(2 * 1024 * 1024 + 1);
    expect(
      violations("UploadDocument", {
        documentId: "",
        userId,
        title: "",
        contentType: "text/html",
        content: tooBig,
      }),
    ).toEqual([
      "title: is required and must not be blank",
      "content_type: must be one of text/plain, text/markdown, application/json",
      "content: must be at most 2097152 bytes (2 MiB)",
    ]);
    const exactly2MiB = new Uint8Array(2 * 1024 * 1024);
    const upload = {
      documentId: "",
      userId,
      title: "t".repeat(300),
      contentType: "text/plain",
      content: exactly2MiB,
    };
    expect(validateCommand("UploadDocument", upload, counter())).toMatchObject({ title: "t".repeat(300) });
    expect(
      violations("UploadDocument", { ...upload, title: "t".repeat(301), content: new Uint8Array(0) }),
    ).toEqual(["title: must be at most 300 characters", "content: must not be empty"]);
    expect(
      violations("RecordDocumentProcessing", {
        documentId: userId,
        succeeded: false,
        failureReason: "",
        chunks: [],
        wordCount: -1,
      }),
    ).toEqual([
      "word_count: must be an integer between 0 and 4294967295",
      "failure_reason: is required when processing failed",
    ]);
    expect(violations("DeleteDocument", { documentId: "x" })).toEqual(["document_id: must be a UUID"]);
  });

  test("conversations", () => {
    expect(
      violations("StartConversation", { conversationId: "", userId, voiceModelId: "v", faceModelId: 3 }),
    ).toEqual([
      "voice_model_id: must be a UUID or empty",
      "face_model_id: Invalid input: expected string, received number",
    ]);
    expect(
      violations("RecordConversationTurn", {
        conversationId: userId,
        speaker: 0,
        text: "x".repeat(10_001),
        audioMs: 1.5,
        latencyMs: -1,
      }),
    ).toEqual([
      "speaker: must be SPEAKER_USER or SPEAKER_CLONE",
      "text: must be at most 10000 characters",
      "audio_ms: must be an integer between 0 and 4294967295",
      "latency_ms: must be an integer between 0 and 4294967295",
    ]);
    expect(violations("EndConversation", {})).toEqual([
      "conversation_id: Invalid input: expected string, received undefined",
    ]);
  });
});

describe("helpers", () => {
  test("codePoints counts astral characters once", () => expect(codePoints("a😀é")).toBe(3));
  test("fieldPath is the snake_case protobuf path", () => {
    expect(fieldPath(["options", "commandId"])).toBe("options.command_id");
    expect(fieldPath(["chunks", 2])).toBe("chunks[2]");
  });
});
