/** Turns a validated domain command into the envelope the command bus carries. */
import { aggregateOf, type DomainCommand } from "../domain";
import type { Actor, CommandEnvelope } from "./envelope";
import { payloadHash, toWire } from "./payload";

/** What the gateway knows about a call besides the command itself. */
export interface EnvelopeInput {
  readonly commandId: string;
  readonly expectedVersion?: number | undefined;
  readonly actor: Actor;
  readonly deadline?: number | undefined;
  readonly now?: number;
}

/** The envelope, and the binary content to store by claim check before sending it (if any). */
export interface BuiltEnvelope {
  readonly envelope: CommandEnvelope;
  readonly blob: Uint8Array | undefined;
}

/** Builds the envelope of a command. */
export function buildEnvelope(command: DomainCommand, input: EnvelopeInput): BuiltEnvelope {
  const aggregate = aggregateOf(command);
  const { payload, blob } = toWire(command);
  const envelope: CommandEnvelope = {
    commandId: input.commandId,
    commandType: command.type,
    aggregateType: aggregate.type,
    aggregateId: aggregate.id,
    payloadHash: payloadHash(payload, input.expectedVersion),
    payload,
    ...(input.expectedVersion === undefined ? {} : { expectedVersion: input.expectedVersion }),
    actor: input.actor,
    ...(input.deadline === undefined ? {} : { deadline: input.deadline }),
    issuedAt: input.now ?? Date.now(),
  };
  return { envelope, blob };
}
