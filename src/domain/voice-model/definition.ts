/** The voice model aggregate's definition: a trainable model of kind `voice_model`. */
import { trainableModelAggregate } from "../trainable-model/definition";
import { voiceModelDecider } from "./decider";

/** Voice models. */
export const voiceModelAggregate = trainableModelAggregate("voice_model", voiceModelDecider);
