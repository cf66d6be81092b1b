/** The face model aggregate's definition: a trainable model of kind `face_model`. */
import { trainableModelAggregate } from "../trainable-model/definition";
import { faceModelDecider } from "./decider";

/** Face models. */
export const faceModelAggregate = trainableModelAggregate("face_model", faceModelDecider);
