import { describeTrainableModelDecider } from "../trainable-model/decider-suite";
import { faceModelDecider } from "./decider";

describeTrainableModelDecider("face_model", faceModelDecider);
