/** State of a voice or face model: what a row of its table holds. */
import type { Versioned } from "../decider";

/** Training status of a model. */
export type ModelStatus = "PENDING" | "TRAINED" | "FAILED";

/**
 * A model; `version` 0 means it does not exist (the other fields are then empty). Whether it is active
 * is a fact of its user (the user's active model id), not of the model.
 */
export interface TrainableModelState extends Versioned {
  readonly modelId: string;
  readonly userId: string;
  readonly name: string;
  readonly sampleSeconds: number;
  readonly status: ModelStatus;
  /** Set when training succeeded. */
  readonly qualityScore: number | null;
  /** Set when training failed. */
  readonly failureReason: string | null;
  readonly registeredAt: string;
  /** When training completed, either way. */
  readonly completedAt: string | null;
  /** When the model was last activated. */
  readonly activatedAt: string | null;
}

/** The state of a model that was never registered. */
export const initialTrainableModelState: TrainableModelState = {
  version: 0,
  modelId: "",
  userId: "",
  name: "",
  sampleSeconds: 0,
  status: "PENDING",
  qualityScore: null,
  failureReason: null,
  registeredAt: "",
  completedAt: null,
  activatedAt: null,
};
