/**
 * Sends request bytes as they are (valid or not) to a running gateway over each of its four wires, and reads
 * the answer's status the way a client of that wire sees it: gRPC (grpc-js, HTTP/2), gRPC-web, Connect with
 * binary protobuf and Connect with JSON (HTTP/1.1). The generated clients cannot send bytes that do not
 * decode, nor report the HTTP status of a Connect error; the bad-input tests and the fuzz run need both.
 */
import {
  type DescMessage,
  type DescMethod,
  fromBinary,
  type Message,
  toBinary,
  toJsonString,
} from "@bufbuild/protobuf";
import { anyIs, anyUnpack } from "@bufbuild/protobuf/wkt";
import { Client, credentials, Metadata, type ServiceError, type StatusObject } from "@grpc/grpc-js";
import { Code, type CodeName, type FieldViolation } from "../errors";
import { codeName, parseStatusDetails } from "../gateway/error-status";
import { BadRequestSchema } from "../gen/google/rpc/error_details_pb";
import { StatusSchema } from "../gen/google/rpc/status_pb";

/** The four ways a client reaches the gateway. */
export const wires = ["grpc", "grpc-web", "connect-proto", "connect-json"] as const;
/** One of {@link wires}. */
export type Wire = (typeof wires)[number];

/** How a call ended, as its client sees it. */
export interface RawAnswer {
  readonly code: CodeName;
  readonly message: string;
  /** The field violations of the `google.rpc.BadRequest` details, if any. */
  readonly violations: FieldViolation[];
  /** The HTTP status (HTTP/1.1 wires only). */
  readonly httpStatus?: number;
  /** Response messages received before the end. */
  readonly messages: number;
}

/** Options of one call. */
export interface RawCallOptions {
  readonly token?: string;
  /** The call's deadline, sent as the wire's timeout header; default 10 s. */
  readonly timeoutMs?: number;
  /** gRPC-web and Connect streams: `body` is already framed (or deliberately not) and is sent as is. */
  readonly framed?: boolean;
  /** More HTTP headers (HTTP/1.1 wires). */
  readonly headers?: Readonly<Record<string, string>>;
}

/** Sends raw requests to one gateway. */
export interface RawRpc {
  /** Calls `method` with `body`: protobuf binary, or JSON text for `connect-json` (any bytes go). */
  call(wire: Wire, method: DescMethod, body: Uint8Array, options?: RawCallOptions): Promise<RawAnswer>;
  close(): void;
}

/** The body a wire carries for a message: binary protobuf, or protobuf JSON for `connect-json`. */
export function encodeFor(wire: Wire, desc: DescMessage, message: Message): Uint8Array {
  return wire === "connect-json"
    ? new TextEncoder().encode(toJsonString(desc, message))
    : toBinary(desc, message);
}

/** A client for the gateway at these addresses. */
export function createRawRpc(addresses: { readonly grpc: string; readonly http: string }): RawRpc {
  const grpc = new Client(addresses.grpc, credentials.createInsecure(), {
    "grpc.max_send_message_length": -1,
    "grpc.max_receive_message_length": -1,
  });
  return {
    call(wire, method, body, options = {}) {
      const timeoutMs = options.timeoutMs ?? 10_000;
      switch (wire) {
        case "grpc":
          return grpcCall(grpc, method, body, options.token, timeoutMs);
        case "grpc-web":
          return grpcWebCall(addresses.http, method, body, options, timeoutMs);
        case "connect-proto":
        case "connect-json":
          return connectCall(addresses.http, method, body, wire === "connect-json", options, timeoutMs);
      }
    },
    close: () => grpc.close(),
  };
}

const pathOf = (method: DescMethod) => `/${method.parent.typeName}/${method.name}`;
const identity = (b: Buffer) => b;

function grpcCall(
  client: Client,
  method: DescMethod,
  body: Uint8Array,
  token: string | undefined,
  timeoutMs: number,
): Promise<RawAnswer> {
  const metadata = new Metadata();
  if (token !== undefined) metadata.set("authorization", `Bearer ${token}`);
  const deadline = Date.now() + timeoutMs;
  const answer = (status: StatusObject | ServiceError | null, messages: number): RawAnswer => {
    if (status === null || status.code === 0) return { code: "OK", message: "", violations: [], messages };
    const details = parseStatusDetails(status.metadata);
    return {
      code: codeName(status.code),
      message: status.details,
      violations: details?.violations ?? [],
      messages,
    };
  };
  return new Promise((resolve) => {
    if (method.methodKind === "unary") {
      client.makeUnaryRequest(
        pathOf(method),
        identity,
        identity,
        Buffer.from(body),
        metadata,
        { deadline },
        (error) => resolve(answer(error, error ? 0 : 1)),
      );
      return;
    }
    let messages = 0;
    const call = client.makeServerStreamRequest(
      pathOf(method),
      identity,
      identity,
      Buffer.from(body),
      metadata,
      {
        deadline,
      },
    );
    call.on("data", () => {
      messages++;
    });
    call.on("error", () => {});
    call.on("status", (status: StatusObject) => resolve(answer(status, messages)));
  });
}

function headers(contentType: string, options: RawCallOptions, extra: Record<string, string>) {
  return {
    "content-type": contentType,
    ...(options.token === undefined ? {} : { authorization: `Bearer ${options.token}` }),
    ...extra,
    ...options.headers,
  };
}

/** One length-prefixed message (gRPC-web and Connect streaming framing). */
function envelope(flags: number, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(data.byteLength + 5);
  out[0] = flags;
  new DataView(out.buffer).setUint32(1, data.byteLength);
  out.set(data, 5);
  return out;
}

/** The frames of a gRPC-web or Connect streaming response body. */
function frames(body: Uint8Array): { flags: number; data: Uint8Array }[] {
  const out: { flags: number; data: Uint8Array }[] = [];
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  for (let at = 0; at + 5 <= body.byteLength; ) {
    const length = view.getUint32(at + 1);
    out.push({ flags: body[at] ?? 0, data: body.subarray(at + 5, at + 5 + length) });
    at += 5 + length;
  }
  return out;
}

/** Violations of every BadRequest in a binary `google.rpc.Status`. */
function statusViolations(bytes: Uint8Array): FieldViolation[] {
  const status = fromBinary(StatusSchema, bytes);
  return status.details.flatMap((d) =>
    anyIs(d, BadRequestSchema)
      ? (anyUnpack(d, BadRequestSchema)?.fieldViolations ?? []).map((v) => ({
          field: v.field,
          description: v.description,
        }))
      : [],
  );
}

async function grpcWebCall(
  base: string,
  method: DescMethod,
  body: Uint8Array,
  options: RawCallOptions,
  timeoutMs: number,
): Promise<RawAnswer> {
  const response = await fetch(`${base}${pathOf(method)}`, {
    method: "POST",
    headers: headers("application/grpc-web+proto", options, {
      "x-grpc-web": "1",
      "grpc-timeout": `${timeoutMs}m`,
    }),
    body: options.framed ? body : envelope(0, body),
  });
  const bytes = new Uint8Array(await response.arrayBuffer());
  const all = frames(bytes);
  const trailer = all.find((f) => (f.flags & 0x80) !== 0);
  const fields = new Map<string, string>();
  response.headers.forEach((value, key) => {
    fields.set(key.toLowerCase(), value);
  });
  for (const line of new TextDecoder().decode(trailer?.data ?? new Uint8Array()).split("\r\n")) {
    const colon = line.indexOf(":");
    if (colon > 0) fields.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  const status = Number(fields.get("grpc-status") ?? Number.NaN);
  const details = fields.get("grpc-status-details-bin");
  return {
    code: Number.isInteger(status) ? codeName(status) : "UNKNOWN",
    message: decodeURIComponent(fields.get("grpc-message") ?? ""),
    violations: details === undefined ? [] : statusViolations(Buffer.from(details, "base64")),
    httpStatus: response.status,
    messages: all.filter((f) => (f.flags & 0x80) === 0).length,
  };
}

const connectCodes = new Map<string, CodeName>(
  (Object.keys(Code) as CodeName[]).map((name) => [
    name === "CANCELLED" ? "canceled" : name.toLowerCase(),
    name,
  ]),
);

/** A Connect error object (`{ code, message, details }`) as a status. */
function connectError(
  error: { code?: string; message?: string; details?: { type?: string; value?: string }[] } | undefined,
): Pick<RawAnswer, "code" | "message" | "violations"> {
  if (error === undefined) return { code: "OK", message: "", violations: [] };
  const violations = (error.details ?? [])
    .filter((d) => d.type === BadRequestSchema.typeName)
    .flatMap((d) =>
      fromBinary(BadRequestSchema, Buffer.from(d.value ?? "", "base64")).fieldViolations.map((v) => ({
        field: v.field,
        description: v.description,
      })),
    );
  return { code: connectCodes.get(error.code ?? "") ?? "UNKNOWN", message: error.message ?? "", violations };
}

async function connectCall(
  base: string,
  method: DescMethod,
  body: Uint8Array,
  json: boolean,
  options: RawCallOptions,
  timeoutMs: number,
): Promise<RawAnswer> {
  const streaming = method.methodKind !== "unary";
  const contentType = `application/${streaming ? "connect+" : ""}${json ? "json" : "proto"}`;
  const response = await fetch(`${base}${pathOf(method)}`, {
    method: "POST",
    headers: headers(contentType, options, {
      "connect-protocol-version": "1",
      "connect-timeout-ms": `${timeoutMs}`,
    }),
    body: streaming && !options.framed ? envelope(0, body) : body,
  });
  const bytes = new Uint8Array(await response.arrayBuffer());
  const httpStatus = response.status;
  const parse = (data: Uint8Array) => {
    try {
      return JSON.parse(new TextDecoder().decode(data));
    } catch {
      return { code: "unknown", message: `unreadable answer (HTTP ${httpStatus})` };
    }
  };
  if (!streaming) {
    const answer = httpStatus === 200 ? connectError(undefined) : connectError(parse(bytes));
    return { ...answer, httpStatus, messages: httpStatus === 200 ? 1 : 0 };
  }
  const all = frames(bytes);
  const end = all.find((f) => (f.flags & 0x02) !== 0);
  const answer =
    httpStatus !== 200 || end === undefined
      ? connectError(parse(bytes))
      : connectError((parse(end.data) as { error?: Parameters<typeof connectError>[0] }).error);
  return { ...answer, httpStatus, messages: all.filter((f) => (f.flags & 0x02) === 0).length };
}
