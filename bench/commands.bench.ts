/**
 * `bun run bench:commands`: throughput and latency of the command path, end to end, beside the two things it
 * is built from, measured side by side in one run (on a small machine only ratios from one run compare):
 *
 * - e2e: a gRPC client → gateway process → NATS JetStream → worker process (command threads) → Postgres →
 *   reply, with a realistic mix (mostly RecordConversationTurn over many conversations, some CreateUser);
 * - echo: a bare grpc-js server in a child process answering the same request at once;
 * - insert: a bare pg single-row insert transaction on a pool as large as the concurrency;
 * - js-publish: a bare JetStream publish awaiting its ack (one leg of the command path's messaging);
 * - the peers (emmett-peer.ts), what a team would build instead: Emmett's command handler on its Postgres event
 *   store in the bench process (emmett), and the same behind a grpc-js server in a child process (emmett-grpc),
 *   with the same mix over their own 1,000 conversations (peer-workload.ts). The targets are ratios to them.
 *
 * Each is run closed-loop at each concurrency for BENCH_SECONDS in total (see options.ts), in slices taken in
 * turn with the other workloads' (interleave.ts), so that drift and other load on the machine hit all alike.
 * These timed cells run unprobed. After them, at each concurrency, a separate probed pass (matrix.ts) runs e2e
 * alone for one slice's time (at least 1 s) with the path probe on (path-probe.ts: an observer process
 * subscribed to the command and reply subjects, the client stamping each command), which is all the "where e2e
 * time goes" breakdown comes from; the observer runs only during those passes, so it loads no timed cell.
 * Prints a markdown table, the target ratios, the breakdown, CPU per operation of the
 * timed cells and the commands per commit of their e2e slices. Last, the real-time delivery section
 * (live-delivery.ts): how long a turn takes from its speaker's client to a WatchConversation subscriber while
 * other lanes record turns, with its target. It reports and exits 0 whatever they are (a
 * benchmark, not a test; 1 only when it could not run), and cleans up (processes, database, streams) also on
 * error or Ctrl-C.
 */
import { createGrpcClient, type GrpcClient } from "../src/gateway";
import { CommandService } from "../src/gen/clone/v1/command_service_pb";
import { createTestDatabase, createTestNats } from "../src/testing";
import { startBenchChild } from "./child-process";
import { prepareCommandWorkload } from "./command-workload";
import { createCpuMeter } from "./cpu-meter";
import { createEmmettPeer } from "./emmett-peer";
import { createScratchTable, prepareInsertWorkload } from "./insert-workload";
import { formatLiveDelivery, measureLiveDelivery } from "./live-delivery";
import { type Operation, runClosedLoop } from "./load";
import { runMatrix } from "./matrix";
import { prepareNatsPublishWorkload } from "./nats-workload";
import { loadBenchOptions } from "./options";
import { createPathProbe } from "./path-probe";
import { preparePeerWorkload } from "./peer-workload";
import { formatReport } from "./report";
import { startServiceStack } from "./service-stack";

const JWT_SECRET = "bench-secret-0123456789abcdef";
const cleanups: Array<() => Promise<unknown>> = [];
const progress = (line: string) => process.stderr.write(`${line}\n`);

async function cleanup(): Promise<void> {
  for (const step of cleanups.splice(0).reverse()) {
    await step().catch((error: unknown) => progress(`cleanup: ${String(error)}`));
  }
}

async function main(): Promise<void> {
  const options = loadBenchOptions();
  const startedAt = performance.now();
  progress(
    `bench:commands: ${options.durationMs / 1000} s per cell at concurrency ${options.concurrencies.join(", ")}` +
      `; relay ${options.relay ? "on" : "off"}`,
  );

  const db = await createTestDatabase({ poolMax: 2 });
  cleanups.push(() => db.drop());
  const nats = await createTestNats();
  cleanups.push(() => nats.cleanup());
  await createScratchTable(db.url);

  const stack = await startServiceStack(db, nats, {
    jwtSecret: JWT_SECRET,
    relay: options.relay,
    profileDir: options.profileDir,
  });
  cleanups.push(() => stack.stop());
  const echo = await startBenchChild(
    new URL("./echo-server.ts", import.meta.url),
    (l) => l.msg === "echo listening",
  );
  cleanups.push(() => echo.stop());
  const echoClient = createGrpcClient(CommandService, `127.0.0.1:${echo.ready.port as number}`);
  cleanups.push(async () => echoClient.close());
  const peer = options.peerRows ? createEmmettPeer(db.url) : undefined;
  if (peer) cleanups.push(() => peer.close());
  const peerServer = peer
    ? await startBenchChild(
        new URL("./emmett-server.ts", import.meta.url),
        (l) => l.msg === "emmett listening",
        {
          args: [db.url, JWT_SECRET],
        },
      )
    : undefined;
  if (peerServer) cleanups.push(() => peerServer.stop());
  const peerClient =
    peerServer && createGrpcClient(CommandService, `127.0.0.1:${peerServer.ready.port as number}`);
  if (peerClient) cleanups.push(async () => peerClient.close());

  const setupStart = performance.now();
  const commands = await prepareCommandWorkload(stack.gatewayAddress, JWT_SECRET, options);
  cleanups.push(async () => commands.close());
  // Statistics of the freshly loaded tables, as autovacuum keeps them in a deployment that has been running:
  // without them the workers' prepared reads keep a plan made for empty tables (full scans of command_results).
  await db.pool.query("ANALYZE");
  progress(
    `setup: ${options.users} users, ${options.conversations} conversations with a turn each in ${((performance.now() - setupStart) / 1000).toFixed(1)} s`,
  );
  // The same turn requests as e2e sends, with the same token, to a server that is not the gateway.
  const turnOp =
    (client: GrpcClient<typeof CommandService>): Operation =>
    (_lane, seq) =>
      client.call("recordConversationTurn", commands.turnRequest(seq), {
        token: commands.userToken,
        deadline: Date.now() + 30_000,
      });
  const echoOp = turnOp(echoClient);
  const natsOp = options.natsRow ? await prepareNatsPublishWorkload(nats.nc, nats.prefix) : undefined;
  const peerWork = peer && (await preparePeerWorkload(peer, options));
  const peerOp = peerWork?.inProcess;
  const peerGrpcOp = peerClient && peerWork?.overGrpc(peerClient, commands.userToken);

  // Warm-up: JIT, connections, pools and caches (owner lookups) of every process.
  const warmLanes = 16;
  await runClosedLoop(warmLanes, options.warmupMs, commands.op);
  await runClosedLoop(warmLanes, options.warmupMs / 3, echoOp);
  if (natsOp) await runClosedLoop(warmLanes, options.warmupMs / 3, natsOp);
  if (peerOp) await runClosedLoop(warmLanes, options.warmupMs / 3, peerOp);
  if (peerGrpcOp) await runClosedLoop(warmLanes, options.warmupMs / 3, peerGrpcOp);
  const warmInsert = await prepareInsertWorkload(db.url, warmLanes, db.pool);
  await runClosedLoop(warmLanes, options.warmupMs / 3, warmInsert.op);
  await warmInsert.close();

  const meter = createCpuMeter({
    pids: new Map([
      ...stack.processes.map((p) => [p.role, p.pid] as const),
      ["echo server", echo.pid],
      ...(peerServer ? [["emmett server", peerServer.pid] as const] : []),
    ]),
    database: { pool: db.pool, name: db.name },
  });
  const probe = createPathProbe(nats.url, nats.prefix);
  cleanups.push(() => probe.close());
  const measured = await runMatrix({
    concurrencies: options.concurrencies,
    durationMs: options.durationMs,
    slices: options.slices,
    maxPool: options.maxPool,
    ops: {
      e2e: commands.op,
      echo: echoOp,
      ...(natsOp ? { jsPublish: natsOp } : {}),
      ...(peerOp ? { emmett: peerOp } : {}),
      ...(peerGrpcOp ? { emmettGrpc: peerGrpcOp } : {}),
    },
    database: { url: db.url, pool: db.pool },
    probe,
    probedE2e: commands.observedBy,
    meter,
    progress,
  });

  const setting =
    `${options.durationMs / 1000} s per cell in ${options.slices} interleaved slices; ` +
    `mix ${Math.round((1 - options.createUserShare) * 100)}% RecordConversationTurn over ` +
    `${options.conversations} conversations, ${Math.round(options.createUserShare * 100)}% CreateUser; ` +
    `1 gateway, 1 worker (${stack.workerThreads} command thread${stack.workerThreads === 1 ? "" : "s"})` +
    `${options.relay ? ", 1 relay" : ""}` +
    `${peer ? "; peers: Emmett in the bench process and behind grpc-js in 1 child process (pg pools of 10, Emmett's default)" : ""}; total ${((performance.now() - startedAt) / 1000).toFixed(0)} s`;
  console.log(formatReport(measured, setting));
  if (options.live) {
    progress("live delivery");
    const live = await measureLiveDelivery({
      gatewayAddress: stack.gatewayAddress,
      jwtSecret: JWT_SECRET,
      natsUrl: nats.url,
      prefix: nats.prefix,
      background: commands.turnOp,
      backgroundLanes: options.live.lanes,
      ratePerSecond: options.live.rate,
      durationMs: options.live.ms,
      meter,
      database: { pool: db.pool, url: db.url, name: db.name },
    });
    console.log(`\n${formatLiveDelivery(live)}`);
  }
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    progress(`${signal}: cleaning up`);
    void cleanup().finally(() => process.exit(130));
  });
}

// PASS or FAIL, a finished run exits 0; only a run that could not measure (a crash, a missing service) exits 1.
let exitCode = 0;
try {
  await main();
} catch (error) {
  console.error("bench:commands failed:", error instanceof Error ? (error.stack ?? error.message) : error);
  exitCode = 1;
} finally {
  await cleanup();
}
process.exit(exitCode);
