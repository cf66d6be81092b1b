/** The voice model aggregate's tables: those of a trainable model of kind `voice_model`. */
import { trainableModelPersistence } from "../trainable-model/persistence";
import { voiceModelAggregate } from "./definition";

/** Voice models' tables. */
export const voiceModelPersistence = trainableModelPersistence(voiceModelAggregate);
