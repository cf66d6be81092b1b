/**
 * fast-check generators of every command request for the property tests (test-only: not exported from the
 * index): for each RPC, valid messages and, per field, values that break exactly that field.
 */
import fc from "fast-check";
import {
  badEmail,
  badFailureReasonLength,
  badLabel,
  badOptionalUuid,
  badPositive,
  badRequiredUuid,
  badUint32,
  bigContent,
  email,
  optionalUuid,
  optionBreakers,
  options,
  type RequestCase,
  text,
  top,
  uint32,
  uuid,
} from "./request-arbitraries";

function modelCases(kind: "Voice" | "Face"): RequestCase[] {
  const id = `${kind.toLowerCase()}ModelId`;
  const field = `${kind.toLowerCase()}_model_id`;
  const complete = (succeeded: boolean) =>
    fc.record({
      options,
      [id]: uuid,
      succeeded: fc.constant(succeeded),
      qualityScore: succeeded ? fc.double({ min: 0, max: 1, noNaN: true }) : fc.double(),
      failureReason: succeeded ? fc.string({ maxLength: 20 }) : text(1, 1000),
    });
  return [
    {
      name: `Register${kind}Model`,
      rpc: `Register${kind}Model`,
      valid: fc.record({
        options,
        [id]: optionalUuid,
        userId: uuid,
        name: text(1, 100),
        sampleSeconds: fc.double({ min: 0, minExcluded: true, max: 1e9, noNaN: true }),
      }),
      breakers: [
        ...optionBreakers,
        top(id, field, badOptionalUuid),
        top("userId", "user_id", badRequiredUuid),
        top("name", "name", badLabel(100)),
        top("sampleSeconds", "sample_seconds", badPositive),
      ],
    },
    {
      name: `Complete${kind}ModelTraining (succeeded)`,
      rpc: `Complete${kind}ModelTraining`,
      valid: complete(true),
      breakers: [
        ...optionBreakers,
        top(id, field, badRequiredUuid),
        top(
          "qualityScore",
          "quality_score",
          fc.constantFrom(-0.01, 1.01, Number.NaN, Number.NEGATIVE_INFINITY, "1"),
        ),
        top("failureReason", "failure_reason", badFailureReasonLength),
      ],
    },
    {
      name: `Complete${kind}ModelTraining (failed)`,
      rpc: `Complete${kind}ModelTraining`,
      valid: complete(false),
      breakers: [
        ...optionBreakers,
        top(id, field, badRequiredUuid),
        top("qualityScore", "quality_score", fc.constantFrom("0.5", null)),
        top("failureReason", "failure_reason", fc.oneof(fc.constantFrom("", "  "), badFailureReasonLength)),
      ],
    },
    {
      name: `Activate${kind}Model`,
      rpc: `Activate${kind}Model`,
      valid: fc.record({ options, [id]: uuid }),
      breakers: [...optionBreakers, top(id, field, badRequiredUuid)],
    },
  ];
}

/** Generators for every command RPC (some RPCs twice, once per branch of a rule that depends on a field). */
export const requestCases: readonly RequestCase[] = [
  {
    name: "CreateUser",
    rpc: "CreateUser",
    valid: fc.record({ options, userId: optionalUuid, email, displayName: text(1, 100) }),
    breakers: [
      ...optionBreakers,
      top("userId", "user_id", badOptionalUuid),
      top("email", "email", badEmail),
      top("displayName", "display_name", badLabel(100)),
    ],
  },
  {
    name: "UpdateUserProfile",
    rpc: "UpdateUserProfile",
    valid: fc
      .record({
        options,
        userId: uuid,
        email: fc.option(email, { nil: undefined }),
        displayName: fc.option(text(1, 100), { nil: undefined }),
      })
      .filter((m) => m.email !== undefined || m.displayName !== undefined),
    breakers: [
      ...optionBreakers,
      top("userId", "user_id", badRequiredUuid),
      top("email", "email", badEmail),
      top("displayName", "display_name", badLabel(100)),
    ],
  },
  {
    name: "DeleteUser",
    rpc: "DeleteUser",
    valid: fc.record({ options, userId: uuid }),
    breakers: [...optionBreakers, top("userId", "user_id", badRequiredUuid)],
  },
  ...modelCases("Voice"),
  ...modelCases("Face"),
  {
    name: "UploadDocument",
    rpc: "UploadDocument",
    valid: fc.record({
      options,
      documentId: optionalUuid,
      userId: uuid,
      title: text(1, 300),
      contentType: fc.constantFrom("text/plain", "text/markdown", "application/json"),
      content: fc.uint8Array({ minLength: 1, maxLength: 64 }),
    }),
    breakers: [
      ...optionBreakers,
      top("documentId", "document_id", badOptionalUuid),
      top("userId", "user_id", badRequiredUuid),
      top("title", "title", badLabel(300)),
      top("contentType", "content_type", fc.constantFrom("", "text/html", "TEXT/PLAIN", 1)),
      top("content", "content", fc.constantFrom(new Uint8Array(0), bigContent, "abc", [1, 2])),
    ],
  },
  {
    name: "RecordDocumentProcessing (failed)",
    rpc: "RecordDocumentProcessing",
    valid: fc.record({
      options,
      documentId: uuid,
      succeeded: fc.constant(false),
      failureReason: text(1, 1000),
      chunks: fc.constant([]),
      wordCount: fc.constant(0),
    }),
    breakers: [
      ...optionBreakers,
      top("documentId", "document_id", badRequiredUuid),
      top("failureReason", "failure_reason", fc.oneof(fc.constantFrom("", " "), badFailureReasonLength)),
      top("chunks", "chunks", fc.constantFrom("a", [1], null)),
      top("wordCount", "word_count", badUint32),
    ],
  },
  {
    name: "RecordDocumentProcessing (succeeded)",
    rpc: "RecordDocumentProcessing",
    valid: fc.record({
      options,
      documentId: uuid,
      succeeded: fc.constant(true),
      failureReason: fc.constant(""),
      chunks: fc.array(fc.string(), { maxLength: 5 }),
      wordCount: uint32,
    }),
    breakers: [
      ...optionBreakers,
      top("succeeded", "succeeded", fc.constantFrom("true", 1, null)),
      top("chunks", "chunks", fc.constantFrom("a", [1], null)),
      top("wordCount", "word_count", badUint32),
    ],
  },
  {
    name: "DeleteDocument",
    rpc: "DeleteDocument",
    valid: fc.record({ options, documentId: uuid }),
    breakers: [...optionBreakers, top("documentId", "document_id", badRequiredUuid)],
  },
  {
    name: "StartConversation",
    rpc: "StartConversation",
    valid: fc.record({
      options,
      conversationId: optionalUuid,
      userId: uuid,
      voiceModelId: optionalUuid,
      faceModelId: optionalUuid,
    }),
    breakers: [
      ...optionBreakers,
      top("conversationId", "conversation_id", badOptionalUuid),
      top("userId", "user_id", badRequiredUuid),
      top("voiceModelId", "voice_model_id", badOptionalUuid),
      top("faceModelId", "face_model_id", badOptionalUuid),
    ],
  },
  {
    name: "RecordConversationTurn",
    rpc: "RecordConversationTurn",
    valid: fc.record({
      options,
      conversationId: uuid,
      speaker: fc.constantFrom(1, 2),
      text: fc.string({ unit: "binary", minLength: 1, maxLength: 200 }),
      audioMs: uint32,
      latencyMs: uint32,
    }),
    breakers: [
      ...optionBreakers,
      top("conversationId", "conversation_id", badRequiredUuid),
      top("speaker", "speaker", fc.constantFrom(0, 3, -1, "SPEAKER_USER")),
      top("text", "text", fc.constantFrom("", "x".repeat(10_001), 9)),
      top("audioMs", "audio_ms", badUint32),
      top("latencyMs", "latency_ms", badUint32),
    ],
  },
  {
    name: "EndConversation",
    rpc: "EndConversation",
    valid: fc.record({ options, conversationId: uuid }),
    breakers: [...optionBreakers, top("conversationId", "conversation_id", badRequiredUuid)],
  },
];
