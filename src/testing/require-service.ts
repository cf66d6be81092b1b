/**
 * Loud failure for the real tier: a test that needs Postgres or NATS and cannot reach it throws, naming
 * the service, the address and how to fix it. It never skips: a skipped real tier looks green while testing
 * nothing, in CI above all.
 */

/** A real-tier dependency. */
export type RealService = "Postgres" | "NATS";

const hints: Record<RealService, string> = {
  Postgres: "start it (e.g. `pg_ctlcluster 15 main start`) or point TEST_DATABASE_URL at a reachable server",
  NATS: "start it with JetStream enabled (e.g. `nats-server -js`) or point TEST_NATS_URL at a reachable server",
};

/** Thrown when a real-tier service cannot be reached; the original error is its `cause`. */
export class ServiceUnavailableError extends Error {
  override readonly name = "ServiceUnavailableError";
  /** The service that could not be reached. */
  readonly service: RealService;

  constructor(service: RealService, url: string, cause: unknown) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super(`the real tier needs ${service} at ${redactUrl(url)}; ${hints[service]} (${reason})`, { cause });
    this.service = service;
  }
}

/** `url` with any password replaced by `***`, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== "") parsed.password = "***";
    return parsed.toString();
  } catch {
    return "(an unparsable URL)";
  }
}

/**
 * Runs `connect`, turning its failure into a {@link ServiceUnavailableError}.
 * @throws ServiceUnavailableError when `connect` rejects.
 */
export async function requireService<T>(
  service: RealService,
  url: string,
  connect: () => Promise<T>,
): Promise<T> {
  try {
    return await connect();
  } catch (error) {
    throw new ServiceUnavailableError(service, url, error);
  }
}
