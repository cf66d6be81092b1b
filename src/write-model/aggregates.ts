/**
 * Commands against the write model, in two round trips per batch: ONE read per aggregate type (the stored
 * results of the command ids and the aggregates' states, see batch-read.ts), then the decisions, then ONE
 * write statement, completed with the outbox events and the stored results (batch-write.ts). Refs (facts about other aggregates) are
 * read in between when a command needs them. Pure rules live in `src/domain`; this module is the only place
 * that knows which table holds which aggregate.
 */
import {
  type AggregateRef,
  type AggregateType,
  aggregateOf,
  type ConversationCommand,
  type ConversationState,
  conversationDecider,
  type DecideContext,
  type Decider,
  type DocumentCommand,
  type DomainCommand,
  type DomainEvent,
  documentDecider,
  evolveAll,
  faceModelDecider,
  initialConversationState,
  initialDocumentState,
  initialTrainableModelState,
  initialUserState,
  isRejection,
  type ModelKind,
  type TrainableModelCommand,
  type UserCommand,
  userDecider,
  type Versioned,
  voiceModelDecider,
} from "../domain";
import { AppError } from "../errors";
import type { AggregateRead } from "./batch-read";
import { conversationStore } from "./conversations";
import { documentStore } from "./documents";
import { faceModelStore, loadModelRef, voiceModelStore } from "./models";
import type { SqlBuilder } from "./sql-builder";
import type { SqlClient } from "./sql-client";
import type { AggregateStore } from "./store";
import { asUserRef, loadUserRef, userStore } from "./users";

/** What a command did to its aggregate. */
export interface Decision {
  readonly aggregate: AggregateRef;
  /** Version after the command (unchanged when it emitted nothing). */
  readonly version: number;
  readonly events: readonly DomainEvent[];
  /** The aggregate's state after the command (what a fresh read would give once it is written). */
  readonly state: Versioned;
}

// biome-ignore lint/suspicious/noExplicitAny: stores of different aggregates in one map
type AnyStore = AggregateStore<any, any, any>;

const stores: Record<AggregateType, AnyStore> = {
  user: userStore,
  voice_model: voiceModelStore,
  face_model: faceModelStore,
  document: documentStore,
  conversation: conversationStore,
};

/** The table mapping of an aggregate type. */
export function storeOf(type: AggregateType): AnyStore {
  return stores[type];
}

/**
 * Adds a check that the aggregate is still at `version` (one row, or the statement fails): for a command
 * decided on a state the caller kept rather than read, whose write changes no state row of its own (a
 * rejection, a no-op), so that what it stores was decided on the current state.
 */
export function expectVersion(b: SqlBuilder, type: AggregateType, id: string, version: number): void {
  b.cte(
    "seen",
    `SELECT 1 FROM ${stores[type].table} WHERE id = ${b.param(id, "uuid")} AND version = ${b.param(version, "bigint")}`,
  );
  b.expectOne("seen");
}

/**
 * Decides a command on the state `read` found and adds the CTEs that write the new state to `b`.
 * @returns the decision, or the AppError a rule (or `expectedVersion`) rejected it with.
 */
export async function decideInto(
  b: SqlBuilder,
  client: SqlClient,
  command: DomainCommand,
  read: AggregateRead,
  ctx: DecideContext,
  /** The int64 `expected_version` as decimal text (exact beyond 2^53), or undefined for no check. */
  expectedVersion: string | undefined,
  /** The aggregate's state when the caller knows it (a worker's cache of conversations); else read from `row`. */
  known?: Versioned,
): Promise<Decision | AppError> {
  const aggregate = aggregateOf(command);
  const { exists, row } = read;
  switch (aggregate.type) {
    case "user":
      return run(
        userDecider,
        command as UserCommand,
        exists ? userStore.fromRow(row) : initialUserState,
        userStore,
      );
    case "voice_model":
    case "face_model": {
      const kind: ModelKind = aggregate.type;
      const store = kind === "voice_model" ? voiceModelStore : faceModelStore;
      const decider = (kind === "voice_model" ? voiceModelDecider : faceModelDecider) as unknown as Decider<
        unknown,
        DomainEvent,
        typeof initialTrainableModelState
      >;
      const state = exists ? store.fromRow(row) : initialTrainableModelState;
      const c = command as TrainableModelCommand<ModelKind>;
      let resolved: unknown = c;
      if (c.type.startsWith("Register")) {
        const { userId } = c as { userId: string };
        resolved = { ...c, refs: { user: asUserRef(await loadUserRef(client, userId)) } };
      } else if (c.type.startsWith("Activate")) {
        // A model that does not exist has no user; its decider answers NOT_FOUND before looking at refs.
        const user =
          state.version === 0
            ? { exists: false, deleted: false, activeVoiceModelId: null, activeFaceModelId: null }
            : await loadUserRef(client, state.userId);
        const activeModelId = kind === "voice_model" ? user.activeVoiceModelId : user.activeFaceModelId;
        resolved = { ...c, refs: { user: { exists: user.exists, deleted: user.deleted, activeModelId } } };
      }
      return run(decider, resolved, state, store);
    }
    case "document": {
      const c = command as DocumentCommand;
      const state = exists ? documentStore.fromRow(row) : initialDocumentState;
      const resolved =
        c.type === "UploadDocument"
          ? { ...c, refs: { user: asUserRef(await loadUserRef(client, c.userId)) } }
          : c;
      return run(documentDecider, resolved, state, documentStore);
    }
    case "conversation": {
      const c = command as ConversationCommand;
      const state =
        (known as ConversationState | undefined) ??
        (exists ? conversationStore.fromRow(row) : initialConversationState);
      let resolved = c as Parameters<typeof conversationDecider.decide>[0];
      if (c.type === "StartConversation") {
        resolved = {
          ...c,
          refs: {
            user: await loadUserRef(client, c.userId),
            voiceModel:
              c.voiceModelId === null ? undefined : await loadModelRef(client, "voice_model", c.voiceModelId),
            faceModel:
              c.faceModelId === null ? undefined : await loadModelRef(client, "face_model", c.faceModelId),
          },
        };
      }
      return run(conversationDecider, resolved, state, conversationStore);
    }
    default: {
      const _exhaustive: never = aggregate.type;
      return _exhaustive;
    }
  }

  function run<C, E extends DomainEvent, S extends Versioned>(
    decider: Decider<C, E, S>,
    resolved: C,
    state: S,
    store: AggregateStore<S, E, unknown>,
  ): Decision | AppError {
    const events = decider.decide(resolved, state, ctx);
    if (expectedVersion !== undefined && String(state.version) !== expectedVersion) {
      // An aggregate that does not exist (or was deleted) is NOT_FOUND whatever version was expected; any other
      // answer yields to the version check.
      if (isRejection(events) && events.code === "NOT_FOUND") return events;
      return new AppError(
        "ABORTED",
        `${aggregate.type} ${aggregate.id} is at version ${state.version}, not the expected ${expectedVersion}`,
      );
    }
    if (isRejection(events)) return events;
    if (events.length === 0) return { aggregate, version: state.version, events, state };
    const after = evolveAll(decider, state, events);
    store.save(b, state, after, events, command);
    return { aggregate, version: after.version, events, state: after };
  }
}
