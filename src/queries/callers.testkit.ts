/**
 * QueryService callers for e2e tests: the same call over gRPC (grpc-js, the gateway's HTTP/2 port) and over
 * the Connect protocol (connect-node, its HTTP/1.1 port), with errors reduced to the status code's name
 * (`DEADLINE_EXCEEDED`), so one test body checks both transports.
 */
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { type ServiceError, status as Status } from "@grpc/grpc-js";
import { createGrpcClient } from "../gateway";
import { QueryService } from "../gen/clone/v1/query_service_pb";

/** A unary QueryService method's local name (e.g. `getUserProfile`). */
export type QueryMethod = Exclude<keyof typeof QueryService.method, "watchConversation">;

/** Calls QueryService over one transport. */
export interface QueryCaller {
  readonly name: "grpc" | "connect";
  /**
   * Calls `method`; `timeoutMs` is the call's deadline from now (default 20 s; null: no deadline).
   * Rejects with the transport's error.
   */
  call(method: QueryMethod, request: object, timeoutMs?: number | null): Promise<Record<string, unknown>>;
  /** The status code's name the call ends with ("OK" on success). */
  code(method: QueryMethod, request: object, timeoutMs?: number | null): Promise<string>;
  close(): void;
}

const DEFAULT_TIMEOUT_MS = 20_000;

/** "DeadlineExceeded" -> "DEADLINE_EXCEEDED". */
const connectCodeName = (code: Code) =>
  (Code[code] as string).replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase();

function codeOf(error: unknown): string {
  if (error instanceof ConnectError) return connectCodeName(error.code);
  const code = (error as ServiceError).code;
  if (typeof code === "number") return Status[code] as string;
  throw error;
}

/** A gRPC and a Connect caller of the gateway at `addresses`, both sending `token`. */
export function createQueryCallers(addresses: { grpc: string; http: string }, token: string): QueryCaller[] {
  const grpc = createGrpcClient(QueryService, addresses.grpc);
  const connect = createClient(
    QueryService,
    createConnectTransport({ baseUrl: addresses.http, httpVersion: "1.1" }),
  );
  const timeout = (t: number | null | undefined) => (t === null ? undefined : (t ?? DEFAULT_TIMEOUT_MS));
  const withCode =
    (call: QueryCaller["call"]): QueryCaller["code"] =>
    (method, request, timeoutMs) =>
      call(method, request, timeoutMs).then(
        () => "OK",
        (error: unknown) => codeOf(error),
      );
  const grpcCall: QueryCaller["call"] = (method, request, timeoutMs) => {
    const t = timeout(timeoutMs);
    return grpc.call(method as never, request as never, {
      token,
      ...(t === undefined ? {} : { deadline: Date.now() + t }),
    }) as Promise<Record<string, unknown>>;
  };
  const connectCall: QueryCaller["call"] = (method, request, timeoutMs) => {
    const t = timeout(timeoutMs);
    const fn = connect[method] as (r: object, o: object) => Promise<Record<string, unknown>>;
    return fn(request, {
      headers: { authorization: `Bearer ${token}` },
      ...(t === undefined ? {} : { timeoutMs: t }),
    });
  };
  return [
    { name: "grpc", call: grpcCall, code: withCode(grpcCall), close: () => grpc.close() },
    { name: "connect", call: connectCall, code: withCode(connectCall), close: () => {} },
  ];
}
