import { describe, expect, test } from "bun:test";
import { ConfigError } from "../errors";
import { loadTestSettings } from "./settings";

describe("test settings", () => {
  test("default to the local real tier, and follow TEST_DATABASE_URL and TEST_NATS_URL", () => {
    expect(loadTestSettings({})).toEqual({
      databaseUrl: "postgres://postgres@127.0.0.1:5432/postgres",
      natsUrl: "nats://127.0.0.1:4222",
    });
    expect(
      loadTestSettings({ TEST_DATABASE_URL: "postgres://u@db:5433/x", TEST_NATS_URL: "nats://n:4333" }),
    ).toEqual({ databaseUrl: "postgres://u@db:5433/x", natsUrl: "nats://n:4333" });
  });

  test("an invalid URL is a ConfigError naming the variable", () => {
    expect(() => loadTestSettings({ TEST_NATS_URL: "not a url" })).toThrow(ConfigError);
    expect(() => loadTestSettings({ TEST_NATS_URL: "not a url" })).toThrow(/TEST_NATS_URL/);
  });
});
