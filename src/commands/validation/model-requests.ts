/**
 * Requests of the voice and face model commands. Both kinds have the same fields and rules; only the id
 * field is named after the kind (`voice_model_id`, `face_model_id`). The domain calls it `modelId`.
 */

import type { RefinementCtx } from "zod";
import { z } from "zod";
import { codePoints, double, failureReason, label, optionalUuid, positiveDouble, uuid } from "./fields";
import { maxFailureReasonLength, maxModelNameLength } from "./limits";
import { always, defineRequest, idOrNew, requestSchema } from "./request";

const registerFields = { userId: uuid, name: label(maxModelNameLength), sampleSeconds: positiveDouble };
const completeFields = { succeeded: z.boolean(), qualityScore: double, failureReason };

interface TrainingResult {
  readonly succeeded: boolean;
  readonly qualityScore: number;
  readonly failureReason: string;
}

/**
 * `quality_score` must be 0..1 when training succeeded; `failure_reason` is required when it failed. The
 * other field is ignored. Runs even when fields are malformed, so it checks their types itself.
 */
function trainingResultRules(request: TrainingResult, ctx: RefinementCtx<TrainingResult>): void {
  const { succeeded, qualityScore, failureReason: reason } = request;
  if (succeeded === true && typeof qualityScore === "number" && !(qualityScore >= 0 && qualityScore <= 1)) {
    ctx.addIssue({
      code: "custom",
      path: ["qualityScore"],
      message: "must be between 0 and 1 when succeeded",
    });
  }
  if (
    succeeded === false &&
    typeof reason === "string" &&
    reason.trim() === "" &&
    codePoints(reason) <= maxFailureReasonLength
  ) {
    ctx.addIssue({ code: "custom", path: ["failureReason"], message: "is required when training failed" });
  }
}

/** `RegisterVoiceModelRequest`: `voice_model_id` may be empty (generated). */
export const registerVoiceModelRequestSchema = requestSchema({
  voiceModelId: optionalUuid,
  ...registerFields,
});
/** `RegisterFaceModelRequest`: `face_model_id` may be empty (generated). */
export const registerFaceModelRequestSchema = requestSchema({ faceModelId: optionalUuid, ...registerFields });
/** `CompleteVoiceModelTrainingRequest`. */
export const completeVoiceModelTrainingRequestSchema = requestSchema({
  voiceModelId: uuid,
  ...completeFields,
}).superRefine(trainingResultRules, always);
/** `CompleteFaceModelTrainingRequest`. */
export const completeFaceModelTrainingRequestSchema = requestSchema({
  faceModelId: uuid,
  ...completeFields,
}).superRefine(trainingResultRules, always);
/** `ActivateVoiceModelRequest`. */
export const activateVoiceModelRequestSchema = requestSchema({ voiceModelId: uuid });
/** `ActivateFaceModelRequest`. */
export const activateFaceModelRequestSchema = requestSchema({ faceModelId: uuid });

const registration = (modelId: string, r: { userId: string; name: string; sampleSeconds: number }) => ({
  modelId,
  userId: r.userId.toLowerCase(),
  name: r.name.trim(),
  sampleSeconds: r.sampleSeconds,
});

/** The training result as the domain takes it: only the field that matters is kept. */
const trainingResult = (modelId: string, r: TrainingResult) => ({
  modelId: modelId.toLowerCase(),
  succeeded: r.succeeded,
  qualityScore: r.succeeded ? r.qualityScore : 0,
  failureReason: r.succeeded ? "" : r.failureReason,
});

/** RegisterVoiceModel: a missing id is generated; the name is trimmed. */
export const registerVoiceModelRequest = defineRequest(
  "RegisterVoiceModel",
  registerVoiceModelRequestSchema,
  (r, newId) => registration(idOrNew(r.voiceModelId, newId), r),
);
/** RegisterFaceModel: a missing id is generated; the name is trimmed. */
export const registerFaceModelRequest = defineRequest(
  "RegisterFaceModel",
  registerFaceModelRequestSchema,
  (r, newId) => registration(idOrNew(r.faceModelId, newId), r),
);
/** CompleteVoiceModelTraining. */
export const completeVoiceModelTrainingRequest = defineRequest(
  "CompleteVoiceModelTraining",
  completeVoiceModelTrainingRequestSchema,
  (r) => trainingResult(r.voiceModelId, r),
);
/** CompleteFaceModelTraining. */
export const completeFaceModelTrainingRequest = defineRequest(
  "CompleteFaceModelTraining",
  completeFaceModelTrainingRequestSchema,
  (r) => trainingResult(r.faceModelId, r),
);
/** ActivateVoiceModel. */
export const activateVoiceModelRequest = defineRequest(
  "ActivateVoiceModel",
  activateVoiceModelRequestSchema,
  (r) => ({
    modelId: r.voiceModelId.toLowerCase(),
  }),
);
/** ActivateFaceModel. */
export const activateFaceModelRequest = defineRequest(
  "ActivateFaceModel",
  activateFaceModelRequestSchema,
  (r) => ({
    modelId: r.faceModelId.toLowerCase(),
  }),
);
