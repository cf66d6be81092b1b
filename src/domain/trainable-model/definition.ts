/** The definition of a trainable model aggregate of either kind (see domain/definition.ts). */
import type { AggregateDefinition } from "../definition";
import type { ResolvedTrainableModelCommand, TrainableModelCommand } from "./commands";
import type { TrainableModelDecider } from "./decider";
import { type TrainableModelEvent, trainableModelEventTypes } from "./events";
import { type ModelKind, type ModelKindName, modelKindNames } from "./kind";
import type { TrainableModelState } from "./state";

/** The definition of a model aggregate of kind `K`. */
export type TrainableModelDefinition<K extends ModelKind> = AggregateDefinition<
  K,
  TrainableModelCommand<K>,
  ResolvedTrainableModelCommand<K>,
  TrainableModelEvent<K>,
  TrainableModelState
>;

/**
 * The voice or face model aggregate: Register creates it for the user it names; training results are for
 * services. (Its command and event lists are built from the kind, so they list all of them.)
 */
export function trainableModelAggregate<K extends ModelKind>(
  kind: K,
  decider: TrainableModelDecider<K>,
): TrainableModelDefinition<K> {
  const name: ModelKindName<K> = modelKindNames[kind];
  type Type = TrainableModelCommand<K>["type"];
  return {
    type: kind,
    decider,
    commandTypes: [`Register${name}`, `Complete${name}Training`, `Activate${name}`] as Type[],
    eventTypes: trainableModelEventTypes(kind),
    target: (command) => command.modelId,
    access: {
      privileged: [`Complete${name}Training`] as Type[],
      creates: [`Register${name}`] as Extract<
        TrainableModelCommand<K>,
        { readonly userId: string }
      >["type"][],
    },
    keepState: false,
  };
}
