import { describeTrainableModelDecider } from "../trainable-model/decider-suite";
import { voiceModelDecider } from "./decider";

describeTrainableModelDecider("voice_model", voiceModelDecider);
