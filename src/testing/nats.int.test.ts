import { afterAll, describe, expect, test } from "bun:test";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { createTestNats, ownsStream, type TestNats } from "./nats";
import { ServiceUnavailableError } from "./require-service";
import { loadTestSettings } from "./settings";

const opened: TestNats[] = [];
afterAll(() => Promise.all(opened.map((n) => n.cleanup())));

async function fixture(): Promise<TestNats> {
  const nats = await createTestNats();
  opened.push(nats);
  return nats;
}

async function streamNames(): Promise<string[]> {
  const nc = await connect({ servers: loadTestSettings().natsUrl });
  try {
    const jsm = await jetstreamManager(nc);
    const names: string[] = [];
    for await (const name of jsm.streams.names()) names.push(name);
    return names;
  } finally {
    await nc.close();
  }
}

describe("createTestNats", () => {
  test("gives each caller its own prefix", async () => {
    const [a, b] = await Promise.all([fixture(), fixture()]);
    expect(a.prefix).toMatch(/^t_[0-9a-f]{12}$/);
    expect(a.prefix).not.toBe(b.prefix);
    expect(a.url).toBe(loadTestSettings().natsUrl);
  });

  test("cleanup deletes the streams under its prefix, only those, and drains the connection", async () => {
    const mine = await fixture();
    const theirs = await fixture();
    const jsm = await jetstreamManager(mine.nc);
    await jsm.streams.add({ name: `${mine.prefix}_commands`, subjects: [`${mine.prefix}.commands.>`] });
    await jsm.streams.add({ name: `${theirs.prefix}_commands`, subjects: [`${theirs.prefix}.commands.>`] });
    const ack = await jetstream(mine.nc).publish(`${mine.prefix}.commands.p1`, "hello");
    expect(ack.stream).toBe(`${mine.prefix}_commands`);
    expect(await streamNames()).toEqual(
      expect.arrayContaining([`${mine.prefix}_commands`, `${theirs.prefix}_commands`]),
    );

    await mine.cleanup();
    await mine.cleanup();

    const left = await streamNames();
    expect(left).not.toContain(`${mine.prefix}_commands`);
    expect(left).toContain(`${theirs.prefix}_commands`);
    expect(mine.nc.isClosed()).toBe(true);
    await theirs.cleanup();
    expect(await streamNames()).not.toContain(`${theirs.prefix}_commands`);
  });

  test("ownsStream covers KV buckets and object stores named under the prefix", () => {
    expect(ownsStream("t_ab", "t_ab_x")).toBe(true);
    expect(ownsStream("t_ab", "KV_t_ab_cache")).toBe(true);
    expect(ownsStream("t_ab", "OBJ_t_ab_files")).toBe(true);
    expect(ownsStream("t_ab", "clone_commands")).toBe(false);
  });

  test("an unreachable server is a loud error, not a skip", async () => {
    const attempt = createTestNats({ url: "nats://127.0.0.1:1" });
    await expect(attempt).rejects.toBeInstanceOf(ServiceUnavailableError);
    await expect(createTestNats({ url: "nats://127.0.0.1:1" })).rejects.toThrow(
      /the real tier needs NATS at nats:\/\/127\.0\.0\.1:1/,
    );
  });
});
