/**
 * The peer a team would build instead of this project: the same two commands of the bench's mix
 * (RecordConversationTurn on an existing conversation, CreateUser) handled by Emmett's `DeciderCommandHandler`
 * on its Postgres event store (`@event-driven-io/emmett-postgresql`): read the stream, decide, append with the
 * expected version, retry on a version conflict (Emmett's default policy: 3 tries, 100 ms backoff ×1.5). One process, no bus, no outbox relay, no read views, no
 * idempotency key, no per-aggregate ordering beyond the version check: what "an afternoon's monolith" does.
 * `bench:commands` runs it in the bench process (emmett) and behind a grpc-js server in a child process
 * (emmett-server.ts).
 */
import { DeciderCommandHandler } from "@event-driven-io/emmett";
import { getPostgreSQLEventStore, type PostgresEventStore } from "@event-driven-io/emmett-postgresql";

type ConversationEvent =
  | { type: "ConversationStarted"; data: { conversationId: string; userId: string } }
  | {
      type: "ConversationTurnRecorded";
      data: { sequence: number; speaker: number; text: string; audioMs: number; latencyMs: number };
    };
type ConversationCommand =
  | { type: "StartConversation"; data: { conversationId: string; userId: string } }
  | {
      type: "RecordConversationTurn";
      data: { speaker: number; text: string; audioMs: number; latencyMs: number };
    };
type Conversation = { status: "none" | "active"; turns: number };

type UserEvent = { type: "UserCreated"; data: { userId: string; email: string; displayName: string } };
type UserCommand = { type: "CreateUser"; data: { userId: string; email: string; displayName: string } };

const handleConversation = DeciderCommandHandler<Conversation, ConversationCommand, ConversationEvent>({
  initialState: () => ({ status: "none", turns: 0 }),
  evolve: (state, event) =>
    event.type === "ConversationStarted"
      ? { status: "active", turns: 0 }
      : { ...state, turns: state.turns + 1 },
  decide: (command, state) => {
    if (command.type === "StartConversation") {
      if (state.status !== "none") throw new Error("conversation exists");
      return { type: "ConversationStarted", data: command.data };
    }
    if (state.status !== "active") throw new Error("conversation not active");
    return { type: "ConversationTurnRecorded", data: { sequence: state.turns + 1, ...command.data } };
  },
  mapToStreamId: (id) => `conversation-${id}`,
  // Two lanes may pick the same conversation at once: Emmett's own retry policy for version conflicts.
  retry: { onVersionConflict: true },
});

const handleUser = DeciderCommandHandler<{ exists: boolean }, UserCommand, UserEvent>({
  initialState: () => ({ exists: false }),
  evolve: () => ({ exists: true }),
  decide: (command, state) => {
    if (state.exists) throw new Error("user exists");
    return { type: "UserCreated", data: command.data };
  },
  mapToStreamId: (id) => `user-${id}`,
});

/** A turn as the bench sends it. */
export interface PeerTurn {
  readonly conversationId: string;
  readonly speaker: number;
  readonly text: string;
  readonly audioMs: number;
  readonly latencyMs: number;
}

/** The peer's command handling on one event store. */
export interface EmmettPeer {
  /**
   * Creates Emmett's schema if missing. Call it once before concurrent use: otherwise each first use migrates,
   * and concurrent first uses wait on each other for ever.
   */
  migrate(): Promise<void>;
  startConversation(conversationId: string, userId: string): Promise<bigint>;
  recordTurn(turn: PeerTurn): Promise<bigint>;
  createUser(userId: string, email: string, displayName: string): Promise<bigint>;
  close(): Promise<void>;
}

/** Opens Emmett's Postgres event store on `connectionString` (its schema is created on first use). */
export function createEmmettPeer(connectionString: string): EmmettPeer {
  const store: PostgresEventStore = getPostgreSQLEventStore(connectionString);
  return {
    async migrate() {
      await store.schema.migrate();
    },
    async startConversation(conversationId, userId) {
      const r = await handleConversation(store, conversationId, {
        type: "StartConversation",
        data: { conversationId, userId },
      });
      return r.nextExpectedStreamVersion;
    },
    async recordTurn({ conversationId, ...data }) {
      const r = await handleConversation(store, conversationId, { type: "RecordConversationTurn", data });
      return r.nextExpectedStreamVersion;
    },
    async createUser(userId, email, displayName) {
      const r = await handleUser(store, userId, { type: "CreateUser", data: { userId, email, displayName } });
      return r.nextExpectedStreamVersion;
    },
    close: () => store.close(),
  };
}
