/**
 * Private backing servers for fault tests: a nats-server (JetStream, its own store directory) or a Postgres
 * cluster (initdb + pg_ctl into a temporary directory) on a free loopback port, that a test may stop,
 * SIGKILL and restart without touching the shared servers; and a TCP proxy in front of any server, that can
 * hang (stop forwarding, like a hung backend or a black-holed network) or reset every connection.
 *
 * ```ts
 * const nats = await startPrivateNats();
 * const cluster = await startPrivateNatsCluster(3); // cluster.url: "nats://127.0.0.1:a,nats://127.0.0.1:b,..."
 * await cluster.nodes[await cluster.leaderOf("private_COMMANDS")]?.stop("SIGKILL");
 * await nats.restart("SIGKILL"); // same port, same store: streams and consumers survive
 * const pg = await startPrivatePostgres();
 * const db = await createTestDatabase({ adminUrl: pg.url }); // migrated, as on the shared server
 * await pg.restart("immediate");
 * const proxy = await startTcpProxy(pg.port); // connect to proxy.port instead
 * proxy.hang(); proxy.resume(); proxy.reset(); proxy.refuse(); proxy.resume();
 * await Promise.all([proxy.close(), pg.destroy(), nats.destroy()]);
 * ```
 */
import { spawnSync } from "node:child_process";
import { chownSync, mkdtempSync, rmSync } from "node:fs";
import { createConnection, createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { type Subprocess, spawn } from "bun";

/** A free TCP port on 127.0.0.1 (bound once and released, so another process may still race for it). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

/** Resolves once something accepts TCP connections on `port`; rejects after `timeoutMs`. */
export async function waitForPort(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = createConnection({ host: "127.0.0.1", port });
      socket.once("connect", () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
    await Bun.sleep(50);
  }
}

/**
 * Resolves once the server at `url` answers a JetStream request (its streams are restored by then; on a
 * cluster node, a meta leader is elected).
 */
async function waitForJetStream(url: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const nc = await connect({ servers: url, timeout: timeoutMs });
  try {
    for (;;) {
      try {
        const jsm = await jetstreamManager(nc, { timeout: 1_000 });
        await jsm.getAccountInfo();
        return;
      } catch (error) {
        if (Date.now() > deadline) throw error;
        await Bun.sleep(50);
      }
    }
  } finally {
    await nc.close();
  }
}

/** A nats-server with JetStream owned by one test. */
export interface PrivateNats {
  /** `nats://127.0.0.1:<port>`, the same across restarts. */
  readonly url: string;
  readonly port: number;
  /** The JetStream store directory (kept across restarts, removed by {@link PrivateNats.destroy}). */
  readonly storeDir: string;
  /** The current server process id (changes at each start). */
  pid(): number | undefined;
  /** Ends the server with `signal` (SIGTERM: graceful, SIGKILL: a crash) and waits for it to exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /**
   * Starts it again on the same port and store; resolves once it accepts connections (and, unless
   * `jetstream` is false, answers JetStream requests). `{ jetstream: false }` starts it without JetStream: a
   * server that takes clients but whose JetStream does not answer yet (as while a big store is restored).
   */
  start(options?: { readonly jetstream?: boolean }): Promise<void>;
  /** {@link PrivateNats.stop} then, after `downMs`, {@link PrivateNats.start}. */
  restart(signal?: NodeJS.Signals, downMs?: number): Promise<void>;
  /** Stops the server for good and removes its store. Safe to call twice. */
  destroy(): Promise<void>;
}

/** Starts `nats-server -js` on a free loopback port with a fresh store directory. */
export async function startPrivateNats(): Promise<PrivateNats> {
  const port = await freePort();
  return natsNode(port, mkdtempSync(join(tmpdir(), "private-nats-")), [], true);
}

/**
 * One nats-server on `port` with its store in `storeDir` and `extraArgs` (cluster options); started at once
 * unless `startNow` is false.
 */
async function natsNode(
  port: number,
  storeDir: string,
  extraArgs: readonly string[],
  startNow: boolean,
): Promise<PrivateNats> {
  let child: Subprocess<"ignore", "ignore", "pipe"> | undefined;
  let destroyed = false;
  const start = async (options: { readonly jetstream?: boolean } = {}): Promise<void> => {
    if (child !== undefined) return;
    const js = options.jetstream ?? true;
    const args = [
      "nats-server",
      "-a",
      "127.0.0.1",
      "-p",
      String(port),
      ...(js ? ["-js", "-sd", storeDir] : []),
      ...extraArgs,
    ];
    child = spawn(args, { stdin: "ignore", stdout: "ignore", stderr: "pipe" });
    await waitForPort(port);
    if (js) await waitForJetStream(`nats://127.0.0.1:${port}`, extraArgs.length > 0 ? 30_000 : 10_000);
  };
  const stop = async (signal: NodeJS.Signals = "SIGTERM"): Promise<void> => {
    const running = child;
    child = undefined;
    if (running === undefined) return;
    running.kill(signal);
    await running.exited;
  };
  if (startNow) await start();
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    storeDir,
    pid: () => child?.pid,
    stop,
    start,
    async restart(signal = "SIGTERM", downMs = 0) {
      await stop(signal);
      if (downMs > 0) await Bun.sleep(downMs);
      await start();
    },
    async destroy() {
      if (destroyed) return;
      destroyed = true;
      await stop("SIGKILL");
      rmSync(storeDir, { recursive: true, force: true });
    },
  };
}

/** Resolves once the cluster places (and removes) a stream of `replicas` replicas: every peer is known. */
async function waitForPlacement(servers: string[], replicas: number, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const nc = await connect({ servers, timeout: 5_000 });
  try {
    const jsm = await jetstreamManager(nc, { timeout: 5_000 });
    for (;;) {
      try {
        await jsm.streams.add({
          name: "placement-probe",
          subjects: ["placement-probe"],
          num_replicas: replicas,
        });
        await jsm.streams.delete("placement-probe");
        return;
      } catch (error) {
        if (Date.now() > deadline) throw error;
        await Bun.sleep(200);
      }
    }
  } finally {
    await nc.close();
  }
}

/** A JetStream cluster of nats-servers on loopback, owned by one test. */
export interface PrivateNatsCluster {
  /** The nodes, in order; node `i` has the server name `n<i>`. */
  readonly nodes: readonly PrivateNats[];
  /** Every node's URL, comma-separated (a `NATS_URL`). */
  readonly url: string;
  /** The index of the node leading `stream` now (asked of any node that answers). */
  leaderOf(stream: string): Promise<number>;
  /** Stops every node for good and removes their stores. Safe to call twice. */
  destroy(): Promise<void>;
}

/**
 * Starts `size` nats-servers with JetStream, each with its own store, routed to each other as one cluster
 * (`--cluster_name`, `--routes`) on free loopback ports; resolves once JetStream answers on every node (its
 * meta leader elected). A node stopped and started again rejoins with its store.
 */
export async function startPrivateNatsCluster(size = 3): Promise<PrivateNatsCluster> {
  const ports = await Promise.all(Array.from({ length: size }, () => freePort()));
  const routePorts = await Promise.all(Array.from({ length: size }, () => freePort()));
  const routes = routePorts.map((p) => `nats://127.0.0.1:${p}`).join(",");
  const nodes: PrivateNats[] = [];
  const destroy = async (): Promise<void> => {
    await Promise.all(nodes.map((n) => n.destroy()));
  };
  try {
    for (const [i, port] of ports.entries()) {
      const args = [
        "--server_name",
        `n${i}`,
        "--cluster_name",
        "private",
        "--cluster",
        `nats://127.0.0.1:${routePorts[i]}`,
        "--routes",
        routes,
      ];
      nodes.push(await natsNode(port, mkdtempSync(join(tmpdir(), `private-nats-${i}-`)), args, false));
    }
    // JetStream answers only once a meta leader is elected, which needs a majority: start them together.
    await Promise.all(nodes.map((n) => n.start()));
    await waitForPlacement(
      nodes.map((n) => n.url),
      size,
    );
  } catch (error) {
    await destroy();
    throw error;
  }
  return {
    nodes,
    url: nodes.map((n) => n.url).join(","),
    async leaderOf(stream) {
      const nc = await connect({ servers: nodes.map((n) => n.url), timeout: 5_000 });
      try {
        const jsm = await jetstreamManager(nc, { timeout: 5_000 });
        const leader = (await jsm.streams.info(stream)).cluster?.leader;
        const index = nodes.findIndex((_, i) => leader === `n${i}`);
        if (index < 0) throw new Error(`stream ${stream} has no leader (${String(leader)})`);
        return index;
      } finally {
        await nc.close();
      }
    },
    destroy,
  };
}

/** How {@link PrivatePostgres.stop} shuts the cluster down (`pg_ctl stop -m`): `immediate` is a crash. */
export type PostgresStopMode = "smart" | "fast" | "immediate";

/** A Postgres cluster owned by one test (user `postgres`, trust auth, fsync off). */
export interface PrivatePostgres {
  /** `postgres://postgres@127.0.0.1:<port>/postgres`, the same across restarts (an admin URL). */
  readonly url: string;
  readonly port: number;
  readonly dataDir: string;
  /** Stops the cluster (`fast` by default: every session ends, as at a restart). */
  stop(mode?: PostgresStopMode): Promise<void>;
  /** Starts it again; resolves once it accepts connections. */
  start(): Promise<void>;
  /** {@link PrivatePostgres.stop} then, after `downMs`, {@link PrivatePostgres.start}. */
  restart(mode?: PostgresStopMode, downMs?: number): Promise<void>;
  /** Stops the cluster for good and removes its directory. Safe to call twice. */
  destroy(): Promise<void>;
}

/** The path of a Postgres tool (Debian's versioned directory first, then the PATH). */
function postgresBin(name: string): string {
  const debian = `/usr/lib/postgresql/15/bin/${name}`;
  return Bun.file(debian).size > 0 ? debian : name;
}

/** Runs a Postgres tool as the `postgres` user when we are root (initdb and postgres refuse to run as root). */
function runPostgresTool(args: readonly string[]): void {
  const asRoot = process.getuid?.() === 0;
  const argv = asRoot ? ["runuser", "-u", "postgres", "--", ...args] : [...args];
  const [command, ...rest] = argv;
  const result = spawnSync(command ?? "", rest, { encoding: "utf8" });
  if (result.status !== 0)
    throw new Error(`${args.join(" ")} failed (${result.status}): ${result.stderr || result.stdout}`);
}

/** A temporary directory the `postgres` user may write when we are root (initdb and postgres refuse root). */
function postgresDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  if (process.getuid?.() === 0) {
    const owner = spawnSync("id", ["-u", "postgres"], { encoding: "utf8" });
    const group = spawnSync("id", ["-g", "postgres"], { encoding: "utf8" });
    chownSync(dir, Number(owner.stdout.trim()), Number(group.stdout.trim()));
  }
  return dir;
}

/** Creates a cluster with initdb in a temporary directory and starts it on a free loopback port. */
export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const port = await freePort();
  const dir = postgresDir("private-pg-");
  const dataDir = join(dir, "data");
  runPostgresTool([
    postgresBin("initdb"),
    "-D",
    dataDir,
    "-U",
    "postgres",
    "--auth=trust",
    "--no-sync",
    "-E",
    "UTF8",
  ]);
  return postgresCluster(dir, dataDir, port);
}

/**
 * Creates a streaming replica of `primary` (`pg_basebackup -R`: a hot standby that replays the primary's WAL
 * as it comes) in a temporary directory and starts it on a free loopback port. Pause its replay with
 * `SELECT pg_wal_replay_pause()` (on the replica) to make it lag, `pg_wal_replay_resume()` to catch up.
 */
export async function startPrivateReplica(primary: PrivatePostgres): Promise<PrivatePostgres> {
  const port = await freePort();
  const dir = postgresDir("private-pg-replica-");
  const dataDir = join(dir, "data");
  runPostgresTool([
    postgresBin("pg_basebackup"),
    "-h",
    "127.0.0.1",
    "-p",
    String(primary.port),
    "-U",
    "postgres",
    "-D",
    dataDir,
    "-R",
    "-X",
    "stream",
    "-c",
    "fast",
    "--no-sync",
  ]);
  return postgresCluster(dir, dataDir, port);
}

/** Starts the cluster in `dataDir` (inside `dir`, which also holds its socket and log) on `port`. */
async function postgresCluster(dir: string, dataDir: string, port: number): Promise<PrivatePostgres> {
  const options = `-p ${port} -h 127.0.0.1 -k ${dir} -c fsync=off -c synchronous_commit=off -c max_connections=200`;
  let running = false;
  let destroyed = false;
  const start = async (): Promise<void> => {
    if (running) return;
    runPostgresTool([
      postgresBin("pg_ctl"),
      "-D",
      dataDir,
      "-o",
      options,
      "-l",
      join(dir, "log"),
      "-w",
      "start",
    ]);
    running = true;
  };
  const stop = async (mode: PostgresStopMode = "fast"): Promise<void> => {
    if (!running) return;
    running = false;
    runPostgresTool([postgresBin("pg_ctl"), "-D", dataDir, "-m", mode, "-w", "stop"]);
  };
  try {
    await start();
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    dataDir,
    stop,
    start,
    async restart(mode = "fast", downMs = 0) {
      await stop(mode);
      if (downMs > 0) await Bun.sleep(downMs);
      await start();
    },
    async destroy() {
      if (destroyed) return;
      destroyed = true;
      await stop("immediate").catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A TCP proxy to a server, for network faults a real server restart cannot make. */
export interface TcpProxy {
  /** The proxy's port on 127.0.0.1: connect here instead of to the server. */
  readonly port: number;
  /** Stops forwarding in both directions (connections stay open and silent: a hung backend). */
  hang(): void;
  /** Forwards again, what was held back included; after {@link TcpProxy.refuse}, accepts connections again. */
  resume(): void;
  /** Resets every open connection and every new one until {@link TcpProxy.resume} (a server that is down). */
  refuse(): void;
  /** Resets every open connection (new ones are still accepted). */
  reset(): void;
  /** Connections open now. */
  connections(): number;
  close(): Promise<void>;
}

/** Starts a proxy on a free loopback port forwarding to `127.0.0.1:targetPort`. */
export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  const pairs = new Set<{ client: Socket; upstream: Socket }>();
  let hung = false;
  let refusing = false;
  const server: Server = createServer((client) => {
    if (refusing) {
      client.resetAndDestroy();
      return;
    }
    const upstream = createConnection({ host: "127.0.0.1", port: targetPort });
    const pair = { client, upstream };
    pairs.add(pair);
    const end = (): void => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on("error", end).on("close", end);
    upstream.on("error", end).on("close", end);
    client.pipe(upstream);
    upstream.pipe(client);
    if (hung) {
      client.pause();
      upstream.pause();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no port");
  const each = (fn: (socket: Socket) => void): void => {
    for (const { client, upstream } of pairs) {
      fn(client);
      fn(upstream);
    }
  };
  const reset = (): void =>
    each((s) => {
      s.resetAndDestroy();
    });
  return {
    port: address.port,
    hang() {
      hung = true;
      each((s) => {
        s.pause();
      });
    },
    resume() {
      hung = false;
      refusing = false;
      each((s) => {
        s.resume();
      });
    },
    reset,
    refuse() {
      refusing = true;
      reset();
    },
    connections: () => pairs.size,
    async close() {
      each((s) => {
        s.destroy();
      });
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
