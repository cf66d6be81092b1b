/**
 * `cli command` / `cli query`: one RPC over gRPC with our grpc-js client. The request is protobuf JSON
 * (`fromJson`, so field names in lowerCamelCase or as in the .proto, enums by name, int64 as strings or
 * numbers, bytes in base64), the response is printed with `toJson`.
 */
import { type DescMethod, type DescService, fromJson, type JsonValue, toJson } from "@bufbuild/protobuf";
import type { ServiceError } from "@grpc/grpc-js";
import { codeName, createGrpcClient, mintToken, parseStatusDetails } from "../gateway";
import { CommandService } from "../gen/clone/v1/command_service_pb";
import { QueryService } from "../gen/clone/v1/query_service_pb";
import { type CallAuth, UsageError } from "./args";

/** Where the CLI writes. */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  /** The request when the JSON argument is `-`. */
  readStdin(): Promise<string>;
}

/** Options of {@link runRpc}. */
export interface RpcOptions {
  readonly service: "command" | "query";
  readonly rpc: string;
  readonly json: string;
  readonly auth: CallAuth;
  readonly addr: string;
  readonly timeoutMs: number | undefined;
  readonly jwtSecret: string;
  /** Cancels a stream (Ctrl-C). */
  readonly signal?: AbortSignal;
}

const DEFAULT_UNARY_TIMEOUT_MS = 30_000;

/** The method of `service` named `name` (`CreateUser` or `createUser`). */
export function findMethod(service: DescService, name: string): DescMethod {
  const method = service.methods.find((m) => m.name === name || m.localName === name);
  if (method === undefined) {
    const names = service.methods.map((m) => m.name).join(", ");
    throw new UsageError(`${service.typeName} has no RPC "${name}"; it has: ${names}`);
  }
  return method;
}

/** Parses the request JSON into the method's input message. */
export function parseRequest(method: DescMethod, json: string) {
  let value: JsonValue;
  try {
    value = JSON.parse(json) as JsonValue;
  } catch (error) {
    throw new UsageError(`the request is not valid JSON: ${error instanceof Error ? error.message : error}`);
  }
  try {
    return fromJson(method.input, value);
  } catch (error) {
    throw new UsageError(
      `the request is not a valid ${method.input.typeName}: ${error instanceof Error ? error.message : error}`,
    );
  }
}

async function tokenFor(auth: CallAuth, secret: string): Promise<string> {
  if (auth.kind === "token") return auth.token;
  return mintToken({ sub: auth.sub, role: auth.role, secret, expiresIn: "5m" });
}

/** Runs the RPC; returns the exit code (0 OK, 1 the call failed). Usage mistakes throw {@link UsageError}. */
export async function runRpc(options: RpcOptions, io: CliIo): Promise<number> {
  const service = options.service === "command" ? CommandService : QueryService;
  const method = findMethod(service, options.rpc);
  const json = options.json === "-" ? await io.readStdin() : options.json;
  const request = parseRequest(method, json);
  const token = await tokenFor(options.auth, options.jwtSecret);
  const client = createGrpcClient(service as DescService, options.addr);
  const name = method.localName as never;
  try {
    if (method.methodKind === "unary") {
      const deadline = Date.now() + (options.timeoutMs ?? DEFAULT_UNARY_TIMEOUT_MS);
      const response = await client.call(name, request as never, { token, deadline });
      io.out(JSON.stringify(toJson(method.output, response as never), null, 2));
    } else if (method.methodKind === "server_streaming") {
      const deadline = options.timeoutMs === undefined ? {} : { deadline: Date.now() + options.timeoutMs };
      const signal = options.signal === undefined ? {} : { signal: options.signal };
      for await (const message of client.stream(name, request as never, { token, ...deadline, ...signal })) {
        io.out(JSON.stringify(toJson(method.output, message as never)));
      }
    } else {
      throw new UsageError(
        `${method.name} is a ${method.methodKind} RPC; the CLI calls unary and server-streaming ones`,
      );
    }
    return 0;
  } catch (error) {
    if (error instanceof UsageError || !isServiceError(error)) throw error;
    io.err(describeError(error));
    return 1;
  } finally {
    client.close();
  }
}

function isServiceError(error: unknown): error is ServiceError {
  return error instanceof Error && typeof (error as Partial<ServiceError>).code === "number";
}

/** `error: INVALID_ARGUMENT: <message>` and one line per field violation. */
export function describeError(error: ServiceError): string {
  const lines = [`error: ${codeName(error.code)}: ${error.details || error.message}`];
  const details = parseStatusDetails(error.metadata);
  for (const v of details?.violations ?? []) lines.push(`  ${v.field}: ${v.description}`);
  return lines.join("\n");
}
