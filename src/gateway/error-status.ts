/**
 * Maps errors to gRPC statuses and back.
 *
 * Everything thrown by a handler or interceptor is normalised with {@link AppError.from}. INTERNAL and UNKNOWN
 * errors are logged with their cause and reach the client only as a generic message. Errors with field
 * violations also carry a binary `google.rpc.Status` holding a `google.rpc.BadRequest` in the
 * `grpc-status-details-bin` trailer (the richer error model of gRPC).
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { anyIs, anyPack, anyUnpack } from "@bufbuild/protobuf/wkt";
import { Metadata, type StatusObject } from "@grpc/grpc-js";
import { AppError, Code, type CodeName, type FieldViolation } from "../errors";
import { BadRequestSchema } from "../gen/google/rpc/error_details_pb";
import { StatusSchema } from "../gen/google/rpc/status_pb";

/** The trailer carrying a binary `google.rpc.Status`. */
export const statusDetailsKey = "grpc-status-details-bin";

/** The logging the gateway needs; a pino logger fits. */
export interface GatewayLogger {
  error(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
}

/** What the client is told instead of an internal error's message. */
const genericInternalMessage = "internal error";

/** Where an error happened, for the log line. */
export interface ErrorOrigin {
  readonly service?: string;
  readonly method?: string;
}

/**
 * The gRPC status for anything thrown. Internal errors are logged (with their cause) and hidden; UNAVAILABLE
 * ones are logged as warnings. Pass the result to a unary callback or emit it on a streaming call.
 */
export function toGrpcStatus(error: unknown, log?: GatewayLogger, origin?: ErrorOrigin): StatusObject {
  const { code, message, violations } = toPublicError(error, log, origin);
  const metadata = new Metadata();
  if (violations.length > 0) {
    metadata.set(statusDetailsKey, Buffer.from(encodeStatusDetails(code, message, violations)));
  }
  return { code: Code[code], details: message, metadata };
}

/** What a client may learn of a failure, whatever the transport. */
export interface PublicError {
  readonly code: CodeName;
  readonly message: string;
  readonly violations: readonly FieldViolation[];
}

/**
 * Normalises anything thrown into what the client is told: internal errors are logged (with their cause) and
 * hidden behind a generic message; UNAVAILABLE ones are logged as warnings. Every transport maps errors
 * through this, so gRPC, gRPC-web and Connect clients see the same code and message.
 */
export function toPublicError(error: unknown, log?: GatewayLogger, origin?: ErrorOrigin): PublicError {
  const appError = AppError.from(error);
  const where = { service: origin?.service, method: origin?.method };
  let message = appError.message;
  if (appError.code === "INTERNAL" || appError.code === "UNKNOWN") {
    log?.error({ err: appError.cause ?? appError, code: appError.code, ...where }, "rpc failed");
    message = genericInternalMessage;
  } else if (appError.code === "UNAVAILABLE") {
    log?.warn({ err: appError.cause ?? appError, ...where }, "rpc failed: backing service unavailable");
  }
  return { code: appError.code, message, violations: appError.violations };
}

/** A binary `google.rpc.Status` with one `google.rpc.BadRequest` listing the violations. */
export function encodeStatusDetails(
  code: CodeName,
  message: string,
  violations: readonly FieldViolation[],
): Uint8Array {
  const badRequest = create(BadRequestSchema, {
    fieldViolations: violations.map((v) => ({ field: v.field, description: v.description })),
  });
  const status = create(StatusSchema, {
    code: Code[code],
    message,
    details: [anyPack(BadRequestSchema, badRequest)],
  });
  return toBinary(StatusSchema, status);
}

/** The decoded `grpc-status-details-bin` trailer. */
export interface StatusDetails {
  readonly code: number;
  readonly message: string;
  /** Field violations of every `google.rpc.BadRequest` in the details. */
  readonly violations: FieldViolation[];
}

/** Decodes the `grpc-status-details-bin` trailer of a failed call; undefined when there is none. */
export function parseStatusDetails(metadata: Metadata | undefined): StatusDetails | undefined {
  const value = metadata?.get(statusDetailsKey)[0];
  if (value === undefined) return undefined;
  const bytes = typeof value === "string" ? Buffer.from(value, "base64") : value;
  const status = fromBinary(StatusSchema, bytes);
  const violations: FieldViolation[] = [];
  for (const detail of status.details) {
    if (!anyIs(detail, BadRequestSchema)) continue;
    const badRequest = anyUnpack(detail, BadRequestSchema);
    for (const v of badRequest?.fieldViolations ?? []) {
      violations.push({ field: v.field, description: v.description });
    }
  }
  return { code: status.code, message: status.message, violations };
}

/** The name of a numeric gRPC status code (`UNKNOWN` for codes outside the table). */
export function codeName(code: number): CodeName {
  const entry = Object.entries(Code).find(([, value]) => value === code);
  return (entry?.[0] as CodeName | undefined) ?? "UNKNOWN";
}
