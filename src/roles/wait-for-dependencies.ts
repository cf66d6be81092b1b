/**
 * Before a process starts its roles: waits until Postgres and NATS (with JetStream) answer, so a role started
 * while one of them is down (restarting, crashed) waits for it rather than exiting. Once started, every role
 * survives them going away and coming back by itself.
 */
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import pg from "pg";
import type { Logger } from "../logging";

/** Time between attempts, ms. */
const RETRY_MS = 500;
/** Budget of one attempt, ms. */
const ATTEMPT_TIMEOUT_MS = 3_000;

/** One round trip to Postgres on a throwaway connection. */
async function postgresAnswers(url: string, timeoutMs = ATTEMPT_TIMEOUT_MS): Promise<void> {
  const client = new pg.Client({
    connectionString: url,
    application_name: "clone-start",
    connectionTimeoutMillis: timeoutMs,
    query_timeout: timeoutMs,
  });
  client.on("error", () => {});
  try {
    await client.connect();
    await client.query("SELECT 1");
  } finally {
    await client.end().catch(() => {});
  }
}

/** A connection to NATS whose JetStream answers (account info). */
async function natsAnswers(url: string, timeoutMs = ATTEMPT_TIMEOUT_MS): Promise<void> {
  const nc = await connect({ servers: url, timeout: timeoutMs, maxReconnectAttempts: 0 });
  try {
    const jsm = await jetstreamManager(nc, { timeout: timeoutMs });
    await jsm.getAccountInfo();
  } finally {
    await nc.close().catch(() => {});
  }
}

/**
 * Resolves once both answer; logs what it waits for (once per change). Resolves false when `stopRequested`
 * turns true first (a SIGTERM while waiting).
 */
export async function waitForDependencies(
  urls: { readonly databaseUrl: string; readonly natsUrl: string },
  log: Logger,
  stopRequested: () => boolean,
): Promise<boolean> {
  let reported = "";
  for (;;) {
    if (stopRequested()) return false;
    const down = await unreachableDependencies(urls, ATTEMPT_TIMEOUT_MS);
    if (Object.keys(down).length === 0) {
      if (reported !== "") log.info("dependencies answer; starting");
      return true;
    }
    const names = Object.keys(down).join(",");
    if (names !== reported) log.warn(down, "waiting for dependencies before starting");
    reported = names;
    await Bun.sleep(RETRY_MS);
  }
}

/** The dependencies that do not answer within `timeoutMs`, with why (empty: both answer). */
export async function unreachableDependencies(
  urls: { readonly databaseUrl: string; readonly natsUrl: string },
  timeoutMs: number,
): Promise<Record<string, string>> {
  const [postgres, nats] = await Promise.allSettled([
    postgresAnswers(urls.databaseUrl, timeoutMs),
    natsAnswers(urls.natsUrl, timeoutMs),
  ]);
  const down: Record<string, string> = {};
  if (postgres.status === "rejected") down.postgres = String(postgres.reason);
  if (nats.status === "rejected") down.nats = String(nats.reason);
  return down;
}
