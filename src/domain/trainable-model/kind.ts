/**
 * Voice and face models follow the same rules; one generic decider serves both, parameterised by kind.
 * The kind is the aggregate type and the prefix of its event types (`voice_model.trained`).
 */

/** The kinds of trainable model. */
export const modelKinds = ["voice_model", "face_model"] as const;

/** A kind of trainable model. */
export type ModelKind = (typeof modelKinds)[number];

/** The PascalCase name of a kind, as it appears in RPC names (`RegisterVoiceModel`). */
export type ModelKindName<K extends ModelKind> = K extends "voice_model" ? "VoiceModel" : "FaceModel";

/** The PascalCase name of each kind. */
export const modelKindNames: { readonly [K in ModelKind]: ModelKindName<K> } = {
  voice_model: "VoiceModel",
  face_model: "FaceModel",
};

/** Human-readable name of each kind, for error messages. */
export const modelKindLabels: { readonly [K in ModelKind]: string } = {
  voice_model: "voice model",
  face_model: "face model",
};
