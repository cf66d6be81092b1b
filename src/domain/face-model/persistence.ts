/** The face model aggregate's tables: those of a trainable model of kind `face_model`. */
import { trainableModelPersistence } from "../trainable-model/persistence";
import { faceModelAggregate } from "./definition";

/** Face models' tables. */
export const faceModelPersistence = trainableModelPersistence(faceModelAggregate);
