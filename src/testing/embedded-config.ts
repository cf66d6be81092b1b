/**
 * Test support: the configuration of an embedded deployment inside a test process (no DATABASE_URL or
 * NATS_URL, so PGlite and the in-process buses; gRPC and HTTP on free loopback ports), with `env` on top.
 */
import { type Config, loadConfig } from "../config";

/** The embedded mode's configuration for a test, from this process's environment and `env`. */
export function embeddedTestConfig(env: Record<string, string>): Config {
  const { DATABASE_URL: _db, NATS_URL: _nats, ...inherited } = process.env;
  return loadConfig({
    ...inherited,
    GRPC_HOST: "127.0.0.1",
    GRPC_PORT: "0",
    HTTP_PORT: "0",
    EMBEDDED_DATA_DIR: "memory://",
    ...env,
  });
}
