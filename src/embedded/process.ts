/** What `bun start` needs for the embedded mode: its first log line, its checks and its role. */

import type { Config } from "../config";
import { ConfigError } from "../errors";
import type { Logger } from "../logging";
import type { RunningRole } from "../roles/worker";
import { startEmbedded } from "./start";

/** The first log line of an embedded start: it says the mode and how to leave it. */
export function embeddedBanner(config: Config): string {
  const where = config.embeddedDataDir === "memory://" ? "in memory" : `data in ${config.embeddedDataDir}`;
  return `embedded mode: PGlite (${where}) and an in-process command bus; set DATABASE_URL and NATS_URL to use Postgres and NATS JetStream`;
}

/** Why `--role <role>` cannot run embedded. */
export function embeddedRoleError(role: string): string {
  return `--role ${role} needs DATABASE_URL and NATS_URL; without them every role runs in one process (--role all, the default)`;
}

/**
 * Refuses a half-configured real tier, naming the variable that is missing.
 * @throws ConfigError when exactly one of DATABASE_URL and NATS_URL is set.
 */
export function requireBothUrls(config: Config): void {
  const missing = [
    config.databaseUrl === undefined ? "DATABASE_URL" : undefined,
    config.natsUrl === undefined ? "NATS_URL" : undefined,
  ].filter((name) => name !== undefined);
  if (missing.length === 1) {
    throw new ConfigError(
      `${missing[0]} is not set: the service runs on Postgres and NATS JetStream with both DATABASE_URL and NATS_URL, or embedded with neither`,
    );
  }
}

/** Starts the embedded mode as the one role of this process, logging when it is ready and how long it took. */
export async function startEmbeddedRole(config: Config, log: Logger): Promise<RunningRole> {
  const running = await startEmbedded(config, log);
  log.info({ grpcPort: running.grpcPort, ...running.timings }, "embedded mode ready");
  return { stop: () => running.stop() };
}
