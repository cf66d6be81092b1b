/**
 * The one error type of the service.
 *
 * Every failure a caller can cause is an {@link AppError} with a gRPC status code (as connect-es'
 * `ConnectError`); anything else is normalised at the boundary by {@link AppError.from} into INTERNAL or
 * UNAVAILABLE, with the original kept as `cause` for the logs and never sent to the client.
 */

/** gRPC status codes (the numeric values of the wire protocol). */
export const Code = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

/** A gRPC status code name. */
export type CodeName = keyof typeof Code;

/**
 * One invalid field: `field` is the protobuf field path (snake_case), as in `google.rpc.BadRequest`; empty
 * for the request as a whole.
 */
export interface FieldViolation {
  readonly field: string;
  readonly description: string;
}

/** The plain form of an {@link AppError}, for crossing threads, NATS and the command-results table. */
export interface SerializedAppError {
  readonly name: "AppError";
  readonly code: CodeName;
  readonly message: string;
  readonly violations?: readonly FieldViolation[];
  readonly stack?: string;
}

/** An error with a gRPC status code, optional field violations and an internal cause. */
export class AppError extends Error {
  override readonly name = "AppError";
  readonly code: CodeName;
  readonly violations: readonly FieldViolation[];

  constructor(
    code: CodeName,
    message: string,
    options?: { violations?: readonly FieldViolation[]; cause?: unknown },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.violations = options?.violations ?? [];
  }

  /**
   * INVALID_ARGUMENT listing every violation, joined by "; " as API.md asks. A violation of the request as a
   * whole (it does not decode, it is too large) has an empty `field` and is listed by its description alone.
   */
  static invalid(violations: readonly FieldViolation[]): AppError {
    const message = violations
      .map((v) => (v.field === "" ? v.description : `${v.field}: ${v.description}`))
      .join("; ");
    return new AppError("INVALID_ARGUMENT", message, { violations });
  }

  /** Normalises anything thrown into an AppError; unknown errors become INTERNAL with the original as cause. */
  static from(error: unknown): AppError {
    if (error instanceof AppError) return error;
    if (isSerializedAppError(error)) return AppError.deserialize(error);
    if (isConnectionError(error))
      return new AppError("UNAVAILABLE", "a backing service is unavailable", { cause: error });
    return new AppError("INTERNAL", "internal error", { cause: error });
  }

  /** The plain form, for postMessage, NATS and JSON. */
  serialize(): SerializedAppError {
    return {
      name: "AppError",
      code: this.code,
      message: this.message,
      ...(this.violations.length > 0 ? { violations: this.violations } : {}),
      ...(this.stack === undefined ? {} : { stack: this.stack }),
    };
  }

  /** Rebuilds an AppError from its plain form. */
  static deserialize(s: SerializedAppError): AppError {
    const e = new AppError(s.code, s.message, { violations: s.violations ?? [] });
    if (s.stack !== undefined) e.stack = s.stack;
    return e;
  }
}

/** True for the plain form of an AppError. */
export function isSerializedAppError(value: unknown): value is SerializedAppError {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    v.name === "AppError" && typeof v.code === "string" && v.code in Code && typeof v.message === "string"
  );
}

const connectionErrorCodes = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "ENOTFOUND",
  "57P01", // admin_shutdown
  "57P02", // crash_shutdown
  "57P03", // cannot_connect_now
  "53300", // too_many_connections: the server is up but takes no more sessions now
  "08000",
  "08001",
  "08003",
  "08004", // the server rejected the connection
  "08006",
  "CONNECTION_CLOSED",
  "CONNECTION_REFUSED",
]);

/** True for errors that mean Postgres or NATS could not be reached. */
export function isConnectionError(error: unknown): boolean {
  if (typeof error !== "object" || error === null) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string" && connectionErrorCodes.has(code)) return true;
  const message = (error as { message?: unknown }).message;
  return (
    typeof message === "string" && /Connection terminated|connection closed|not connected/i.test(message)
  );
}
