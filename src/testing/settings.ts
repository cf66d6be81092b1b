/**
 * The settings of the tests, apart from the product's configuration (src/config.ts): where the real tier the
 * tests use runs. Each test file creates its own database on `databaseUrl`'s server and its own stream prefix
 * on `natsUrl`'s.
 */
import { z } from "zod";
import { ConfigError } from "../errors";

const testEnvSchema = z.object({
  TEST_DATABASE_URL: z.url().default("postgres://postgres@127.0.0.1:5432/postgres"),
  TEST_NATS_URL: z.url().default("nats://127.0.0.1:4222"),
});

/** Where the tests' Postgres and NATS run. */
export interface TestSettings {
  /** A Postgres server URL with the right to CREATE DATABASE (`TEST_DATABASE_URL`). */
  readonly databaseUrl: string;
  /** A NATS server with JetStream (`TEST_NATS_URL`). */
  readonly natsUrl: string;
}

/**
 * Reads the test settings from an environment (by default `process.env`).
 * @throws ConfigError naming each invalid variable.
 */
export function loadTestSettings(env: Record<string, string | undefined> = process.env): TestSettings {
  const parsed = testEnvSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
    throw new ConfigError(`invalid test settings: ${problems.join("; ")}`);
  }
  return { databaseUrl: parsed.data.TEST_DATABASE_URL, natsUrl: parsed.data.TEST_NATS_URL };
}
