/**
 * The decider tests of a trainable-model kind, shared by the voice and face model test files (the rules are
 * the same; each instance is tested with its own command and event type names). Test-only: not exported
 * from the index.
 */
import { describe, expect, test } from "bun:test";
import { DeciderSpecification, fixedNow } from "../decider-specification";
import type { UserRef, UserWithActiveModelRef } from "../refs";
import type { ResolvedTrainableModelCommand } from "./commands";
import type { TrainableModelDecider } from "./decider";
import type { TrainableModelEvent } from "./events";
import { type ModelKind, modelKindNames } from "./kind";

const modelId = "00000000-0000-4000-8000-00000000000a";
const otherModelId = "00000000-0000-4000-8000-00000000000b";
const userId = "00000000-0000-4000-8000-000000000001";
const at = fixedNow.toISOString();
const earlier = "2030-01-01T00:00:00.000Z";

const liveUser: UserRef = { exists: true, deleted: false };
const owner = (activeModelId: string | null, user: UserRef = liveUser): UserWithActiveModelRef => ({
  ...user,
  activeModelId,
});

/** Registers the given/when/then tests of one kind's decider. */
export function describeTrainableModelDecider<K extends ModelKind>(
  kind: K,
  decider: TrainableModelDecider<K>,
): void {
  const name = modelKindNames[kind];
  const spec = DeciderSpecification.for(decider);
  // The command and event type names are computed from the kind, which the types cannot follow.
  const command = (c: object) => c as ResolvedTrainableModelCommand<K>;
  const event = (e: object) => e as TrainableModelEvent<K>;

  const register = (user: UserRef = liveUser) =>
    command({ type: `Register${name}`, modelId, userId, name: "Mine", sampleSeconds: 42.5, refs: { user } });
  const complete = (succeeded: boolean) =>
    command({
      type: `Complete${name}Training`,
      modelId,
      succeeded,
      qualityScore: 0.87,
      failureReason: "too noisy",
    });
  const activate = (user: UserWithActiveModelRef) =>
    command({ type: `Activate${name}`, modelId, refs: { user } });

  const registered = event({
    type: `${kind}.registered`,
    data: { modelId, userId, name: "Mine", sampleSeconds: 42.5, registeredAt: earlier },
  });
  const trained = event({
    type: `${kind}.trained`,
    data: { modelId, userId, qualityScore: 0.9, completedAt: earlier },
  });
  const failed = event({
    type: `${kind}.training_failed`,
    data: { modelId, userId, failureReason: "no", completedAt: earlier },
  });

  describe(`Register${name}`, () => {
    test("registers a PENDING model", () => {
      spec
        .given([])
        .when(register())
        .then([
          event({
            type: `${kind}.registered`,
            data: { modelId, userId, name: "Mine", sampleSeconds: 42.5, registeredAt: at },
          }),
        ]);
      spec
        .given([])
        .when(register())
        .thenState((s) => expect(s).toMatchObject({ version: 1, status: "PENDING", userId }));
    });
    test("rejects a used id", () => spec.given([registered]).when(register()).thenFails("ALREADY_EXISTS"));
    test("rejects a missing user", () =>
      spec
        .given([])
        .when(register({ exists: false, deleted: false }))
        .thenFails("NOT_FOUND", userId));
    test("rejects a deleted user", () =>
      spec
        .given([])
        .when(register({ exists: true, deleted: true }))
        .thenFails("NOT_FOUND", userId));
  });

  describe(`Complete${name}Training`, () => {
    test("records success", () => {
      spec
        .given([registered])
        .when(complete(true))
        .then([
          event({ type: `${kind}.trained`, data: { modelId, userId, qualityScore: 0.87, completedAt: at } }),
        ]);
      spec
        .given([registered])
        .when(complete(true))
        .thenState((s) => expect(s).toMatchObject({ status: "TRAINED", qualityScore: 0.87, version: 2 }));
    });
    test("records failure", () => {
      spec
        .given([registered])
        .when(complete(false))
        .then([
          event({
            type: `${kind}.training_failed`,
            data: { modelId, userId, failureReason: "too noisy", completedAt: at },
          }),
        ]);
      spec
        .given([registered])
        .when(complete(false))
        .thenState((s) => expect(s).toMatchObject({ status: "FAILED", failureReason: "too noisy" }));
    });
    test("rejects a missing model", () =>
      spec.given([]).when(complete(true)).thenFails("NOT_FOUND", modelId));
    test("rejects a TRAINED model", () =>
      spec.given([registered, trained]).when(complete(true)).thenFails("FAILED_PRECONDITION", "TRAINED"));
    test("rejects a FAILED model", () =>
      spec.given([registered, failed]).when(complete(false)).thenFails("FAILED_PRECONDITION", "FAILED"));
  });

  describe(`Activate${name}`, () => {
    test("activates, naming the previous active model", () =>
      spec
        .given([registered, trained])
        .when(activate(owner(otherModelId)))
        .then([
          event({
            type: `${kind}.activated`,
            data: { modelId, userId, previousModelId: otherModelId, activatedAt: at },
          }),
        ]));
    test("activates when the user had no active model", () =>
      spec
        .given([registered, trained])
        .when(activate(owner(null)))
        .then([
          event({
            type: `${kind}.activated`,
            data: { modelId, userId, previousModelId: null, activatedAt: at },
          }),
        ]));
    test("is a no-op when already active", () =>
      spec
        .given([registered, trained])
        .when(activate(owner(modelId)))
        .thenNothingHappens());
    test("rejects a missing model", () =>
      spec
        .given([])
        .when(activate(owner(null)))
        .thenFails("NOT_FOUND", modelId));
    test("rejects when the owner is deleted", () =>
      spec
        .given([registered, trained])
        .when(activate(owner(null, { exists: true, deleted: true })))
        .thenFails("NOT_FOUND", userId));
    test("rejects when the owner is missing", () =>
      spec
        .given([registered, trained])
        .when(activate(owner(null, { exists: false, deleted: false })))
        .thenFails("NOT_FOUND", userId));
    test("rejects a PENDING model", () =>
      spec
        .given([registered])
        .when(activate(owner(null)))
        .thenFails("FAILED_PRECONDITION", "PENDING"));
    test("rejects a FAILED model", () =>
      spec
        .given([registered, failed])
        .when(activate(owner(null)))
        .thenFails("FAILED_PRECONDITION", "FAILED"));
  });
}
