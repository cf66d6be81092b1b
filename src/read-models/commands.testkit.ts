/**
 * Test support: random, valid-ish command sequences for property tests. Commands name their ids
 * symbolically (`user:0`, `voice:2`, `email:1`, ...) over small pools, so sequences collide on purpose
 * (commands on missing, deleted or ended aggregates, taken emails, untrained models) and counterexamples
 * read well; {@link resolveIds} turns the symbols into one run's real ids.
 */
import fc from "fast-check";
import { uuidFrom } from "../contracts";
import type { DomainCommand } from "../domain";

const POOL = 3;
const pick = (kind: string, size = POOL) => fc.nat(size - 1).map((i) => `${kind}:${i}`);
const user = pick("user");
const email = fc.nat(POOL).map((i) => `email:${i}`);
const doc = pick("doc");
/** More conversations than the setup starts, so that sequences start some. */
const conv = pick("conv", 5);
const kind = fc.constantFrom("Voice" as const, "Face" as const);
/** Mostly null (the user's active model), sometimes a named model. */
const maybeModel = (k: "voice" | "face") =>
  fc.oneof({ arbitrary: fc.constant(null), weight: 2 }, { arbitrary: pick(k), weight: 1 });
const modelOf = (k: "Voice" | "Face") => pick(k === "Voice" ? "voice" : "face");

const userCommand: fc.Arbitrary<DomainCommand> = fc.oneof(
  fc.record({
    type: fc.constant("CreateUser" as const),
    userId: user,
    email,
    displayName: fc.constant("Pat"),
  }),
  fc.record(
    {
      type: fc.constant("UpdateUserProfile" as const),
      userId: user,
      email,
      displayName: fc.constantFrom("Ann", "Ben"),
    },
    { requiredKeys: ["type", "userId"] },
  ),
  fc.record({ type: fc.constant("DeleteUser" as const), userId: user }),
);

const modelCommand: fc.Arbitrary<DomainCommand> = kind.chain((k) =>
  fc.oneof(
    fc.record({
      type: fc.constant(`Register${k}Model` as const),
      modelId: modelOf(k),
      userId: user,
      name: fc.constantFrom("warm", "bright"),
      sampleSeconds: fc.constant(10),
    }),
    fc.boolean().chain((succeeded) =>
      fc.record({
        type: fc.constant(`Complete${k}ModelTraining` as const),
        modelId: modelOf(k),
        succeeded: fc.constant(succeeded),
        qualityScore: succeeded ? fc.double({ min: 0, max: 1, noNaN: true }) : fc.constant(0),
        failureReason: fc.constant(succeeded ? "" : "noisy samples"),
      }),
    ),
    fc.record({ type: fc.constant(`Activate${k}Model` as const), modelId: modelOf(k) }),
  ),
) as fc.Arbitrary<DomainCommand>;

const documentCommand: fc.Arbitrary<DomainCommand> = fc.oneof(
  fc.record({
    type: fc.constant("UploadDocument" as const),
    documentId: doc,
    userId: user,
    title: fc.constantFrom("Notes", "Plan"),
    contentType: fc.constantFrom(
      "text/plain" as const,
      "text/markdown" as const,
      "application/json" as const,
    ),
    content: fc.uint8Array({ minLength: 0, maxLength: 8 }),
  }),
  fc.boolean().chain((succeeded) =>
    fc.record({
      type: fc.constant("RecordDocumentProcessing" as const),
      documentId: doc,
      succeeded: fc.constant(succeeded),
      failureReason: fc.constant(succeeded ? "" : "invalid UTF-8"),
      chunks: succeeded ? fc.array(fc.constantFrom("a b", "c"), { maxLength: 3 }) : fc.constant([]),
      wordCount: succeeded ? fc.nat(500) : fc.constant(0),
    }),
  ),
  fc.record({ type: fc.constant("DeleteDocument" as const), documentId: doc }),
);

const turn: fc.Arbitrary<DomainCommand> = fc.record({
  type: fc.constant("RecordConversationTurn" as const),
  conversationId: conv,
  speaker: fc.constantFrom("USER" as const, "CLONE" as const),
  text: fc.constant("hi"),
  audioMs: fc.nat(5000),
  latencyMs: fc.nat(900),
});

const conversationCommand: fc.Arbitrary<DomainCommand> = fc.oneof(
  fc.record({
    type: fc.constant("StartConversation" as const),
    conversationId: conv,
    userId: user,
    voiceModelId: maybeModel("voice"),
    faceModelId: maybeModel("face"),
  }),
  fc.record({ type: fc.constant("EndConversation" as const), conversationId: conv }),
);

/** One random command with symbolic ids; turns come most often, as in real life. */
export const symbolicCommand: fc.Arbitrary<DomainCommand> = fc.oneof(
  { arbitrary: userCommand, weight: 2 },
  { arbitrary: modelCommand, weight: 3 },
  { arbitrary: documentCommand, weight: 2 },
  { arbitrary: conversationCommand, weight: 2 },
  { arbitrary: turn, weight: 3 },
);

/**
 * Two users with a trained, active model, a document and a conversation each, so that random sequences reach
 * turns, processing and statistics often; the rest of the pools is left for the sequence to create.
 */
export const symbolicSetup: readonly DomainCommand[] = [
  { type: "CreateUser", userId: "user:0", email: "email:0", displayName: "Zero" },
  { type: "CreateUser", userId: "user:1", email: "email:1", displayName: "One" },
  { type: "RegisterVoiceModel", modelId: "voice:0", userId: "user:0", name: "v0", sampleSeconds: 5 },
  { type: "RegisterFaceModel", modelId: "face:0", userId: "user:1", name: "f0", sampleSeconds: 5 },
  {
    type: "CompleteVoiceModelTraining",
    modelId: "voice:0",
    succeeded: true,
    qualityScore: 0.5,
    failureReason: "",
  },
  {
    type: "CompleteFaceModelTraining",
    modelId: "face:0",
    succeeded: true,
    qualityScore: 0.25,
    failureReason: "",
  },
  { type: "ActivateVoiceModel", modelId: "voice:0" },
  { type: "ActivateFaceModel", modelId: "face:0" },
  {
    type: "UploadDocument",
    documentId: "doc:0",
    userId: "user:0",
    title: "Bio",
    contentType: "text/plain",
    content: new TextEncoder().encode("about me"),
  },
  {
    type: "UploadDocument",
    documentId: "doc:1",
    userId: "user:1",
    title: "Bio",
    contentType: "text/markdown",
    content: new TextEncoder().encode("# me"),
  },
  {
    type: "StartConversation",
    conversationId: "conv:0",
    userId: "user:0",
    voiceModelId: null,
    faceModelId: null,
  },
  {
    type: "StartConversation",
    conversationId: "conv:1",
    userId: "user:1",
    voiceModelId: null,
    faceModelId: null,
  },
];

/** Replaces the symbolic ids of a command by those of run `run` (uuids, and emails unique to the run). */
export function resolveIds(command: DomainCommand, run: string): DomainCommand {
  const out: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(command)) {
    const symbol = typeof value === "string" ? /^(user|voice|face|doc|conv|email):(\d+)$/.exec(value) : null;
    if (!symbol) out[field] = value;
    else if (symbol[1] === "email") out[field] = `person${symbol[2]}.${run}@example.com`;
    else out[field] = uuidFrom(`read-model-commands:${run}:${value}`);
  }
  return out as unknown as DomainCommand;
}
