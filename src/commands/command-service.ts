/**
 * `clone.v1.CommandService`: one implementation for every transport.
 *
 * Each call passes two interceptors before its handler: validation (zod, every violation reported) and
 * authorisation (role and ownership). The handler then builds the envelope, stores large content by claim
 * check, sends the command over the command bus and turns the worker's outcome into the RPC response.
 */
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { CommandSender } from "../contracts";
import { idsFromCommandId } from "../contracts";
import type { CommandType, DomainCommand } from "../domain";
import { commandTypes } from "../domain";
import { AppError } from "../errors";
import type { CallContext, Interceptor, ServiceRegistration } from "../gateway";
import { registerService, requireActor } from "../gateway";
import { CommandService } from "../gen/clone/v1/command_service_pb";
import type { CommandResultSchema } from "../gen/clone/v1/common_pb";
import type { OwnerLookup } from "../write-model";
import { authorizeCommand } from "./authorize";
import { buildEnvelope } from "./build-envelope";
import { type ValidatedCommandRequest, validateCommandRequest } from "./validation";

/** What the command service needs. */
export interface CommandServiceDeps {
  readonly sender: CommandSender;
  /** Stores binary content under the command id before the command is sent (claim check). */
  readonly storeBlob: (commandId: string, content: Uint8Array) => Promise<void>;
  readonly ownerOf: OwnerLookup;
  /** Makes a command id when the client sent none. */
  readonly newCommandId?: () => string;
}

interface Validated {
  readonly command: DomainCommand;
  readonly commandId: string;
  readonly expectedVersion: bigint | undefined;
}

const commandTypeSet: ReadonlySet<string> = new Set(commandTypes);
const validatedRequests = new WeakMap<object, Validated>();

/** The command service and the interceptors that must run around it (after authentication). */
export function createCommandService(deps: CommandServiceDeps): {
  registration: ServiceRegistration;
  interceptors: Interceptor[];
} {
  const newCommandId = deps.newCommandId ?? (() => crypto.randomUUID());

  // Both interceptors hand a call on without a layer of their own when they have nothing to wait for (most
  // calls): each async layer costs a promise and its ticks on every command.

  /** Validates every CommandService request; the parsed command is kept for the handler. */
  const validation: Interceptor = (next) => (request, ctx) => {
    if (ctx.service === CommandService.typeName && commandTypeSet.has(ctx.method)) {
      const raw = (request as { options?: { commandId?: string } }).options?.commandId ?? "";
      const commandId = raw === "" ? newCommandId() : raw;
      let validated: ValidatedCommandRequest<CommandType>;
      try {
        validated = validateCommandRequest(ctx.method as CommandType, request, idsFromCommandId(commandId));
      } catch (error) {
        return Promise.reject(error);
      }
      validatedRequests.set(request as object, {
        command: validated.command,
        commandId,
        expectedVersion: validated.options.expectedVersion,
      });
    }
    return next(request, ctx);
  };

  /** Role and ownership rules of API.md. */
  const authorization: Interceptor = (next) => (request, ctx) => {
    const validated = validatedRequests.get(request as object);
    if (!validated) return next(request, ctx);
    let lookup: Promise<void> | undefined;
    try {
      lookup = authorizeCommand(requireActor(ctx.actor), validated.command, deps.ownerOf);
    } catch (error) {
      return Promise.reject(error);
    }
    return lookup === undefined ? next(request, ctx) : lookup.then(() => next(request, ctx));
  };

  async function handle(request: object, ctx: CallContext) {
    const validated = validatedRequests.get(request);
    if (!validated) throw new AppError("INTERNAL", "command was not validated");
    const { envelope, blob } = buildEnvelope(validated.command, {
      commandId: validated.commandId,
      expectedVersion: validated.expectedVersion,
      actor: requireActor(ctx.actor),
      deadline: ctx.deadline,
    });
    if (blob) await deps.storeBlob(envelope.commandId, blob);
    const outcome = await deps.sender.send(envelope, { signal: ctx.signal });
    if (!outcome.ok) throw AppError.deserialize(outcome.error);
    const r = outcome.result;
    const result: MessageInitShape<typeof CommandResultSchema> = {
      commandId: r.commandId,
      aggregateId: r.aggregateId,
      version: BigInt(r.version),
      events: [...r.events],
      consistencyToken: r.position,
      duplicate: r.duplicate,
    };
    return { result };
  }

  const implementation = Object.fromEntries(CommandService.methods.map((m) => [m.localName, handle]));
  return {
    registration: registerService(CommandService, implementation),
    interceptors: [validation, authorization],
  };
}
