/**
 * `bun bench/capacity-check.ts [--commands N] [--concurrency C]`: the scaled-down run behind docs/scaling.md's claim that the outbox relay (one
 * leader per deployment) is the first process to saturate as load grows, and the measure of the primary's
 * WAL per command that sizes the replicas.
 *
 * On private servers (a Postgres cluster and a nats-server of its own, so that nothing else writes to that
 * WAL): a gateway and a worker WITHOUT a relay take N CreateUser commands (default 4000) at concurrency C
 * (default 32; the events pile up in the outbox); then one relay starts and drains that backlog
 * as fast as it can. Prints commands/s, WAL bytes per command, and the relay's drain rate, CPU per event and
 * cores used while draining: the most events/s one relay leader can publish on this machine, against what
 * the command path produced. Exits 0 whatever it measures (1 only when it could not run); cleans up its
 * processes and servers also on error.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { type ServiceError, status as Status } from "@grpc/grpc-js";
import { createGrpcClient, mintToken } from "../src/gateway";
import { CommandService } from "../src/gen/clone/v1/command_service_pb";
import { createPrivateStack, type PrivateStack } from "../src/testing";

const SECRET = "capacity-check-secret-0123456789";
const { values } = parseArgs({
  options: { commands: { type: "string", default: "4000" }, concurrency: { type: "string", default: "32" } },
});
const COMMANDS = Number(values.commands);
const CONCURRENCY = Number(values.concurrency);
const progress = (line: string) => process.stderr.write(`${line}\n`);

/** CPU ms a process has used (user + system), from /proc. */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  // After "pid (comm) ": state is field 3, so utime (14) and stime (15) are at indexes 11 and 12.
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

async function main(): Promise<void> {
  let stack: PrivateStack | undefined;
  try {
    stack = await createPrivateStack({ AUTH_JWT_SECRET: SECRET, WORKER_THREADS: "1" });
    await stack.start("worker");
    const gateway = await stack.start("gateway");
    const ready = await gateway.waitForLog((l) => l.msg === "gateway listening");
    const client = createGrpcClient(CommandService, `127.0.0.1:${ready.grpcPort as number}`);
    const token = await mintToken({ sub: "ops", role: "admin", secret: SECRET });
    const wal = async () =>
      (await stack?.db.pool.query<{ lsn: string }>("SELECT pg_current_wal_lsn()::text AS lsn"))?.rows[0]
        ?.lsn ?? "0/0";
    const walDiff = async (from: string, to: string) =>
      Number(
        (await stack?.db.pool.query<{ d: string }>("SELECT pg_wal_lsn_diff($1, $2)::text AS d", [to, from]))
          ?.rows[0]?.d,
      );

    progress(`${COMMANDS} CreateUser commands at concurrency ${CONCURRENCY}, no relay running`);
    let next = 0;
    const walBefore = await wal();
    const workerCpuBefore = cpuMs(stack.processes[0]?.pid ?? 0);
    const started = performance.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < COMMANDS) {
          next++;
          const userId = crypto.randomUUID();
          for (;;) {
            try {
              await client.call(
                "createUser",
                {
                  options: { commandId: `cap-${userId}` },
                  userId,
                  email: `${userId}@example.com`,
                  displayName: "C",
                },
                { token, deadline: Date.now() + 30_000 },
              );
              break;
            } catch (error) {
              if ((error as ServiceError).code !== Status.UNAVAILABLE) throw error;
            }
          }
        }
      }),
    );
    const commandSeconds = (performance.now() - started) / 1000;
    const walBytes = await walDiff(walBefore, await wal());
    const workerCpu = cpuMs(stack.processes[0]?.pid ?? 0) - workerCpuBefore;
    client.close();
    const backlog = async () =>
      Number(
        (
          await stack?.db.pool.query<{ n: string }>(
            "SELECT count(*) AS n FROM events WHERE NOT event_published(transaction_id, position)",
          )
        )?.rows[0]?.n,
      );
    const pending = await backlog();

    progress(`one relay drains the ${pending} events`);
    const relay = await stack.start("relay");
    const relayCpuBefore = cpuMs(relay.pid);
    const drainStarted = performance.now();
    while ((await backlog()) > 0) {
      if (performance.now() - drainStarted > 120_000) throw new Error("the relay did not drain in 120 s");
      await Bun.sleep(20);
    }
    const drainSeconds = (performance.now() - drainStarted) / 1000;
    const relayCpu = cpuMs(relay.pid) - relayCpuBefore;

    const fmt = (n: number, d = 0) => n.toFixed(d);
    console.log("| measure | value |");
    console.log("|---|---:|");
    console.log(
      `| commands/s (1 gateway, 1 worker thread, concurrency ${CONCURRENCY}) | ${fmt(COMMANDS / commandSeconds)} |`,
    );
    console.log(`| worker CPU per command, ms | ${fmt(workerCpu / COMMANDS, 3)} |`);
    console.log(`| primary WAL per command, bytes | ${fmt(walBytes / COMMANDS)} |`);
    console.log(
      `| relay drain, events/s (one leader, backlog of ${pending}) | ${fmt(pending / drainSeconds)} |`,
    );
    console.log(`| relay CPU per event while draining, ms | ${fmt(relayCpu / pending, 3)} |`);
    console.log(`| relay cores busy while draining | ${fmt(relayCpu / 1000 / drainSeconds, 2)} |`);
    console.log(
      `| drain rate / command rate | ${fmt(pending / drainSeconds / (COMMANDS / commandSeconds), 2)} |`,
    );
  } finally {
    await stack?.stop();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
