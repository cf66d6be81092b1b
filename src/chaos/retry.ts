/**
 * How the suite's clients call the gateways, as a real client would: a command that fails with UNAVAILABLE or
 * DEADLINE_EXCEEDED is sent again with the same command id (through the next gateway), so the server's
 * idempotency decides whether it is applied; one answered ABORTED because it expired before it ran (it was
 * not applied, and that answer is stored under its id) is sent again under a new command id; any other status
 * is an answer.
 */
import { type ServiceError, status as Status } from "@grpc/grpc-js";
import { decodeToken, type StreamPoint } from "../contracts";
import { createGrpcClient, type GrpcClient } from "../gateway";
import { CommandService } from "../gen/clone/v1/command_service_pb";
import { QueryService } from "../gen/clone/v1/query_service_pb";

/** The command and query clients of every gateway. */
export interface GatewayClients {
  readonly commands: readonly GrpcClient<typeof CommandService>[];
  readonly queries: readonly GrpcClient<typeof QueryService>[];
  close(): void;
}

/** Opens a command and a query client per gateway address. */
export function connectGateways(addresses: readonly string[]): GatewayClients {
  const commands = addresses.map((a) => createGrpcClient(CommandService, a));
  const queries = addresses.map((a) => createGrpcClient(QueryService, a));
  return {
    commands,
    queries,
    close() {
      for (const c of [...commands, ...queries]) c.close();
    },
  };
}

/** The codes a client retries with the same command id. */
export const retryableCodes: ReadonlySet<number> = new Set([Status.UNAVAILABLE, Status.DEADLINE_EXCEEDED]);

/** What a command call came to. */
export type CommandOutcome = (
  | { readonly ok: true; readonly token: string; readonly point: StreamPoint | undefined }
  | { readonly ok: false; readonly code: string }
) & {
  /** The command id of the last attempt (the one acknowledged, when ok). */
  readonly commandId: string;
  /** Earlier command ids answered ABORTED as expired: none of them may be applied. */
  readonly expired: readonly string[];
  readonly attempts: number;
};

/** Options of {@link sendWithRetry}. */
export interface RetryOptions {
  /** Deadline of one attempt, ms. */
  readonly attemptMs: number;
  /** Gives up (the command is then not acknowledged) after this long, ms. */
  readonly budgetMs: number;
  /** The gateway of the first attempt (later attempts take the next ones). */
  readonly firstGateway?: number;
}

/**
 * The message of the ABORTED answer that servers before sql/0017 stored for a command that expired before it
 * ran. Today's worker skips such a copy instead (src/actors/executor.ts), so this answer no longer comes; the
 * client still handles it so that the suite's "no expired command applied" check stays meaningful against a
 * server that would.
 */
const expiredMessage = /expired before it ran/;

/**
 * Calls `send` on gateway after gateway until it answers with something else than a retryable code (or an
 * expiry, sent again under `newId()`), or the budget runs out.
 */
export async function sendWithRetry(
  gateways: number,
  send: (
    gateway: number,
    deadline: number,
    commandId: string,
  ) => Promise<{ result?: { consistencyToken: string } }>,
  newId: () => string,
  options: RetryOptions,
): Promise<CommandOutcome> {
  const giveUpAt = Date.now() + options.budgetMs;
  const expired: string[] = [];
  let commandId = newId();
  let attempts = 0;
  for (;;) {
    const gateway = ((options.firstGateway ?? 0) + attempts) % gateways;
    attempts++;
    try {
      const response = await send(gateway, Date.now() + options.attemptMs, commandId);
      const token = response.result?.consistencyToken ?? "";
      return { ok: true, token, point: decodeToken(token), commandId, expired, attempts };
    } catch (error) {
      const { code, details } = error as ServiceError;
      const isExpired = code === Status.ABORTED && expiredMessage.test(details ?? "");
      if ((!retryableCodes.has(code) && !isExpired) || Date.now() >= giveUpAt)
        return { ok: false, code: Status[code] ?? String(error), commandId, expired, attempts };
      if (isExpired) {
        expired.push(commandId);
        commandId = newId();
      }
      await Bun.sleep(50);
    }
  }
}
