import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import pg from "pg";
import {
  type PrivateNats,
  type PrivatePostgres,
  startPrivateNats,
  startPrivatePostgres,
  startTcpProxy,
} from "./private-servers";

describe("private nats-server", () => {
  let nats: PrivateNats;
  beforeAll(async () => {
    nats = await startPrivateNats();
  });
  afterAll(() => nats.destroy());

  test("keeps its streams across a SIGKILL and a restart on the same port", async () => {
    const nc = await connect({ servers: nats.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: "kept", subjects: ["kept.>"] });
    const before = nats.pid();
    const reconnected = (async () => {
      for await (const s of nc.status()) if (s.type === "reconnect") return;
    })();
    await nats.restart("SIGKILL");
    expect(nats.pid()).not.toBe(before);
    // What a client sends while it is disconnected is dropped when it reconnects (nats.js resets its
    // outbound buffer at each dial): wait for the reconnect before asking.
    await reconnected;
    const info = await jsm.streams.info("kept");
    expect(info.config.name).toBe("kept");
    await nc.close();
  }, 20_000);
});

describe("private Postgres and a TCP proxy", () => {
  let postgres: PrivatePostgres;
  beforeAll(async () => {
    postgres = await startPrivatePostgres();
  }, 30_000);
  afterAll(() => postgres.destroy());

  test("answers again after an immediate (crash) restart", async () => {
    const query = async (): Promise<number> => {
      const client = new pg.Client({ connectionString: postgres.url });
      await client.connect();
      const res = await client.query<{ n: number }>("SELECT 41 + 1 AS n");
      await client.end();
      return res.rows[0]?.n ?? 0;
    };
    expect(await query()).toBe(42);
    await postgres.restart("immediate");
    expect(await query()).toBe(42);
  }, 30_000);

  test("a hung proxy holds a query until it resumes; a reset ends the connection", async () => {
    const proxy = await startTcpProxy(postgres.port);
    const client = new pg.Client({
      connectionString: postgres.url.replace(`:${postgres.port}`, `:${proxy.port}`),
    });
    client.on("error", () => {});
    await client.connect();
    proxy.hang();
    let answered = false;
    const held = client.query("SELECT 1").then(() => {
      answered = true;
    });
    await Bun.sleep(300);
    expect(answered).toBe(false);
    proxy.resume();
    await held;
    expect(answered).toBe(true);
    proxy.reset();
    await expect(client.query("SELECT 1")).rejects.toThrow();
    await proxy.close();
  }, 20_000);
});
