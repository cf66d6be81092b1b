/** Turns a validated domain command into the envelope the command bus carries. */

import type { Actor, CommandEnvelope } from "../contracts";
import { payloadHash, toWire } from "../contracts";
import { aggregateOf, type DomainCommand } from "../domain";

/** What the gateway knows about a call besides the command itself. */
export interface EnvelopeInput {
  readonly commandId: string;
  /** The caller's `expected_version` (an int64). */
  readonly expectedVersion?: bigint | number | undefined;
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
  const expected = input.expectedVersion === undefined ? undefined : BigInt(input.expectedVersion);
  const envelope: CommandEnvelope = {
    commandId: input.commandId,
    commandType: command.type,
    aggregateType: aggregate.type,
    aggregateId: aggregate.id,
    payloadHash: payloadHash(payload, expected),
    payload,
    ...(expected === undefined ? {} : { expectedVersion: expected.toString() }),
    actor: input.actor,
    ...(input.deadline === undefined ? {} : { deadline: input.deadline }),
    issuedAt: input.now ?? Date.now(),
  };
  return { envelope, blob };
}
