/**
 * What travels on the command path between the gateway and the workers, whatever the transport.
 *
 * The envelope is plain JSON (NATS payload, `postMessage`, the embedded transport alike). Large binary fields
 * (document content) never ride in it: the gateway stores them first (claim check: `command_blobs`, see `toWire` in payload.ts)
 * so a message stays far below NATS' default 1 MiB payload limit.
 */
import type { SerializedAppError } from "../errors";

/** Who sends a command: the JWT's `sub` and `role`. */
export type Role = "user" | "service" | "admin";

/** The authenticated caller of a command or query. */
export interface Actor {
  readonly sub: string;
  readonly role: Role;
}

/** The kinds of aggregate; each has its own mailbox per id. */
export type AggregateType = "user" | "voice_model" | "face_model" | "document" | "conversation";

/** A validated command on its way to a worker. */
export interface CommandEnvelope {
  /** Idempotency key: the client's `command_id` or one the gateway made. */
  readonly commandId: string;
  /** RPC name, e.g. `CreateUser`. */
  readonly commandType: string;
  readonly aggregateType: AggregateType;
  /** The mailbox key: commands with the same id are applied one at a time, in order. */
  readonly aggregateId: string;
  /** SHA-256 (hex) of the canonical payload; the same id with another hash is refused. */
  readonly payloadHash: string;
  /** The domain command (JSON-safe; binary content replaced by a claim-check reference). */
  readonly payload: unknown;
  /**
   * Optimistic concurrency: the version the caller expects the aggregate to have, as decimal text (an int64:
   * JSON has no integers beyond 2^53, and an error message must repeat the caller's value exactly).
   */
  readonly expectedVersion?: string;
  readonly actor: Actor;
  /** Epoch milliseconds after which the caller no longer waits; a worker does not start it after that. */
  readonly deadline?: number;
  /** Epoch milliseconds when the gateway accepted it. */
  readonly issuedAt: number;
  /**
   * W3C trace context of the span the command's work continues from, only while tracing is on. Not sent in
   * the JSON: on JetStream it rides in the message's `traceparent` header; the worker sets it to its own
   * span's, and the events it writes carry it on in their metadata to the outbox relay.
   */
  readonly traceparent?: string;
  /**
   * The bus message that carries it, set by the worker on receipt (JetStream: `<stream>:<sequence>`): the same
   * message delivered again (after a worker crash) has the same one, a client's retry has another. A stored
   * result written for this very message answers it as a first answer, not as a duplicate.
   */
  readonly delivery?: string;
}

/** The stored and returned result of an applied command (API `CommandResult`). */
export interface CommandResultData {
  readonly commandId: string;
  readonly aggregateId: string;
  /** Aggregate version after the command. */
  readonly version: number;
  /** Event types emitted, in order. */
  readonly events: readonly string[];
  /** Global outbox position of the last event written by this command (or the position read, if none). */
  readonly position: string;
  /** True when this is the stored result of an earlier identical command. */
  readonly duplicate: boolean;
}

/** What a worker answers: a result or an error in its plain form. */
export type CommandOutcome =
  | { readonly ok: true; readonly result: CommandResultData }
  | { readonly ok: false; readonly error: SerializedAppError };

/** Handles one envelope; used by every transport on the worker side. */
export type CommandHandler = (envelope: CommandEnvelope) => Promise<CommandOutcome>;

/** The gateway's side of a transport: send one command and wait for its outcome. */
export interface CommandSender {
  /** Sends the command and resolves with the worker's outcome; rejects with an AppError (UNAVAILABLE, DEADLINE_EXCEEDED). */
  send(envelope: CommandEnvelope, options?: { signal?: AbortSignal }): Promise<CommandOutcome>;
  close(): Promise<void>;
}
