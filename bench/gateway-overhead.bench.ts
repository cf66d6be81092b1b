/**
 * `bun bench/gateway-overhead.bench.ts`: what the gateway adds to a command beyond gRPC and messaging, measured
 * side by side in one run (see gateway-overhead-server.ts for the servers):
 *
 * - `echo` vs `gateway`: a bare grpc-js echo vs the real CommandService with its interceptors over a sender that
 *   answers at once: the gateway's own cost (auth, validation, authorisation, envelope, call context, mapping);
 * - `echo-publish` vs `gateway-js`: echo plus a JetStream publish+ack and a core NATS reply from a trivial
 *   responder, vs the real gateway over the real JetStream command sender and the same responder;
 * - `gateway-role` (only when named in OVERHEAD_MODES): the real gateway process (`src/main.ts --role gateway`,
 *   with its HTTP port, health probes, read side and event subscriptions) on a fresh test database, called with
 *   a `service` token (its owner lookups would need rows), over the same responder, which also publishes a turn
 *   event per command as the relay would.
 *
 * Each server is its own child process (the client does not share its event loop) and its CPU time is read from
 * /proc around each slice, so "cpu/op" is the server's alone. Slices of the modes are interleaved, so load from
 * elsewhere on the machine falls on all alike: compare within one run.
 *
 * Settings (environment; read here, as bench/options.ts holds only bench:commands' settings):
 * - OVERHEAD_SECONDS (per cell, default 4), OVERHEAD_SLICES (default 4), OVERHEAD_CONCURRENCY (default "1,64"),
 *   OVERHEAD_MODES (default the first four);
 * - GATEWAY_OVERHEAD_PROFILE=1: the servers run under `bun --cpu-prof` (profiles and their markdown summaries
 *   in $TMPDIR/gateway-overhead-profiles);
 * - OVERHEAD_BASELINE=<dir>: also run the gateway modes from another checkout as `<mode>@base`, in the same
 *   interleaved slices (before and after side by side). Make one with
 *   `git archive <commit> | tar -x -C <dir>`, link node_modules into it and copy this benchmark's server files
 *   (gateway-overhead-server.ts, gateway-overhead-shared.ts) into its bench/.
 */
import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Subprocess, spawn } from "bun";
import { z } from "zod";
import { createGrpcClient, mintToken } from "../src/gateway";
import { CommandService } from "../src/gen/clone/v1/command_service_pb";
import { Speaker } from "../src/gen/clone/v1/enums_pb";
import { createTestDatabase, createTestNats, gatewayReady, startRole, type TestNats } from "../src/testing";
import { stopProcess } from "./child-process";
import { OVERHEAD_JWT_SECRET, OVERHEAD_USER_ID } from "./gateway-overhead-shared";
import { type Operation, runClosedLoop } from "./load";
import { type LoadResult, mergeResults, summarize } from "./stats";

const modes = ["echo", "gateway", "echo-publish", "gateway-js", "gateway-role"] as const;
type Mode = (typeof modes)[number];

const env = z
  .object({
    OVERHEAD_SECONDS: z.coerce.number().positive().default(4),
    OVERHEAD_SLICES: z.coerce.number().int().positive().default(4),
    OVERHEAD_CONCURRENCY: z
      .string()
      .default("1,64")
      .transform((s) => s.split(",").map((c) => Number(c.trim()))),
    OVERHEAD_MODES: z
      .string()
      .default("echo,gateway,echo-publish,gateway-js")
      .transform((s) => s.split(",").map((m) => m.trim()))
      .pipe(z.array(z.enum(modes))),
    GATEWAY_OVERHEAD_PROFILE: z.string().default("0"),
    OVERHEAD_BASELINE: z.string().optional(),
  })
  .parse(process.env);

const progress = (line: string) => process.stderr.write(`${line}\n`);
const script = new URL("./gateway-overhead-server.ts", import.meta.url).pathname;
const profileDir = join(tmpdir(), "gateway-overhead-profiles");
const text =
  "Sure, I remember that trip to Lisbon: the tram up to the castle and the custard tarts in Belem.";
const ticksPerSecond = 100;

interface Child {
  readonly pid: number;
  readonly port: number | undefined;
  stop(): Promise<void>;
}

async function startChild(args: readonly string[], profileName?: string, entry = script): Promise<Child> {
  const bunArgs =
    profileName !== undefined && env.GATEWAY_OVERHEAD_PROFILE === "1"
      ? [
          "--cpu-prof",
          "--cpu-prof-md",
          `--cpu-prof-dir=${profileDir}`,
          `--cpu-prof-name=${profileName}.cpuprofile`,
        ]
      : [];
  const child: Subprocess<"ignore", "pipe", "inherit"> = spawn(["bun", ...bunArgs, entry, ...args], {
    stdin: "ignore",
    stdout: "pipe",
    stderr: "inherit",
  });
  const reader = child.stdout.getReader();
  const decoder = new TextDecoder();
  let buffered = "";
  const deadline = Date.now() + 20_000;
  while (!buffered.includes("\n")) {
    if (Date.now() > deadline) throw new Error(`${args[0]} did not start`);
    const { value, done } = await reader.read();
    if (done) throw new Error(`${args[0]} exited before it was ready`);
    buffered += decoder.decode(value, { stream: true });
  }
  reader.releaseLock();
  const ready = JSON.parse(buffered.slice(0, buffered.indexOf("\n"))) as { port?: number };
  return { pid: child.pid, port: ready.port, stop: () => stopProcess(child, 5_000) };
}

/** The real gateway role on a fresh test database, sharing the NATS prefix (and so the responder). */
async function startGatewayRole(nats: TestNats): Promise<Child> {
  const db = await createTestDatabase({ poolMax: 2 });
  cleanups.push(() => db.drop());
  const role = await startRole(
    "gateway",
    {
      DATABASE_URL: db.url,
      NATS_URL: nats.url,
      NATS_PREFIX: nats.prefix,
      AUTH_JWT_SECRET: OVERHEAD_JWT_SECRET,
      GRPC_HOST: "127.0.0.1",
      GRPC_PORT: "0",
      COMMAND_PARTITIONS: "16",
    },
    gatewayReady,
  );
  const ready = await role.waitForLog(gatewayReady);
  return {
    pid: role.pid,
    port: ready.grpcPort as number,
    stop: async () => {
      await role.kill("SIGTERM");
    },
  };
}

function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / ticksPerSecond;
}

const cleanups: Array<() => Promise<unknown>> = [];

async function main(): Promise<void> {
  const nats = await createTestNats();
  cleanups.push(() => nats.cleanup());
  const natsArgs = [nats.url, nats.prefix];
  const responder = await startChild(["responder", ...natsArgs]);
  cleanups.push(() => responder.stop());

  const token = await mintToken({ sub: OVERHEAD_USER_ID, role: "user", secret: OVERHEAD_JWT_SECRET });
  const conversations = Array.from({ length: 1000 }, () => crypto.randomUUID());
  const request = (seq: number) => ({
    options: { commandId: crypto.randomUUID() },
    conversationId: conversations[Math.floor(Math.random() * conversations.length)] as string,
    speaker: seq % 2 === 0 ? Speaker.USER : Speaker.CLONE,
    text: `${text} (${seq})`,
    audioMs: 2_400,
    latencyMs: 180,
  });

  const serviceToken = await mintToken({ sub: "overhead", role: "service", secret: OVERHEAD_JWT_SECRET });
  const servers = new Map<Mode | `${Mode}@base`, { child: Child; op: Operation }>();
  const baseline = env.OVERHEAD_BASELINE;
  for (const mode of env.OVERHEAD_MODES) {
    const child =
      mode === "gateway-role" ? await startGatewayRole(nats) : await startChild([mode, ...natsArgs], mode);
    cleanups.push(() => child.stop());
    const client = createGrpcClient(CommandService, `127.0.0.1:${child.port}`);
    cleanups.push(async () => client.close());
    const callToken = mode === "gateway-role" ? serviceToken : token;
    const op: Operation = (_lane, seq) =>
      client.call("recordConversationTurn", request(seq), {
        token: callToken,
        deadline: Date.now() + 30_000,
      });
    servers.set(mode, { child, op });
    if (baseline !== undefined && (mode === "gateway" || mode === "gateway-js")) {
      const base = await startChild(
        [mode, ...natsArgs],
        `${mode}-base`,
        `${baseline}/bench/gateway-overhead-server.ts`,
      );
      cleanups.push(() => base.stop());
      const baseClient = createGrpcClient(CommandService, `127.0.0.1:${base.port}`);
      cleanups.push(async () => baseClient.close());
      servers.set(`${mode}@base`, {
        child: base,
        op: (_lane, seq) =>
          baseClient.call("recordConversationTurn", request(seq), { token, deadline: Date.now() + 30_000 }),
      });
    }
  }

  progress("warming up");
  for (const { op } of servers.values()) {
    await runClosedLoop(16, 2_000, op);
    await runClosedLoop(1, 500, op);
  }

  const sliceMs = (env.OVERHEAD_SECONDS * 1000) / env.OVERHEAD_SLICES;
  const lines: string[] = [];
  for (const c of env.OVERHEAD_CONCURRENCY) {
    progress(`concurrency ${c}`);
    const loads = new Map<string, LoadResult[]>();
    const cpu = new Map<string, number>();
    for (let slice = 0; slice < env.OVERHEAD_SLICES; slice++) {
      for (const [mode, { child, op }] of servers) {
        const before = cpuMs(child.pid);
        const result = await runClosedLoop(c, sliceMs, op);
        cpu.set(mode, (cpu.get(mode) ?? 0) + cpuMs(child.pid) - before);
        loads.set(mode, [...(loads.get(mode) ?? []), result]);
      }
    }
    lines.push(`\n### concurrency ${c}\n`);
    lines.push("| server | ops/s | p50 ms | p99 ms | server cpu ms/op | errors |");
    lines.push("|---|---:|---:|---:|---:|---:|");
    const summary = new Map<string, { p50: number; cpuPerOp: number }>();
    for (const [mode, results] of loads) {
      const merged = mergeResults(results);
      const s = summarize(merged);
      const cpuPerOp = (cpu.get(mode) ?? 0) / Math.max(1, merged.latenciesMs.length);
      summary.set(mode, { p50: s.p50Ms, cpuPerOp });
      lines.push(
        `| ${mode} | ${s.opsPerSecond.toFixed(0)} | ${s.p50Ms.toFixed(3)} | ${s.p99Ms.toFixed(3)} | ${cpuPerOp.toFixed(3)} | ${s.errors}${s.errors > 0 ? ` (${merged.errorSamples[0]})` : ""} |`,
      );
    }
    for (const [gw, base] of [
      ["gateway", "echo"],
      ["gateway@base", "echo"],
      ["gateway-js", "echo-publish"],
      ["gateway-js@base", "echo-publish"],
      ["gateway-role", "echo-publish"],
    ] as const) {
      const g = summary.get(gw);
      const b = summary.get(base);
      if (g && b) {
        lines.push(
          `\n${gw} − ${base}: p50 +${(g.p50 - b.p50).toFixed(3)} ms (×${(g.p50 / b.p50).toFixed(2)}), ` +
            `cpu/op +${(g.cpuPerOp - b.cpuPerOp).toFixed(3)} ms (×${(g.cpuPerOp / b.cpuPerOp).toFixed(2)})`,
        );
      }
    }
  }
  console.log(lines.join("\n"));
}

let exitCode = 0;
try {
  await main();
} catch (error) {
  console.error("gateway-overhead failed:", error instanceof Error ? (error.stack ?? error.message) : error);
  exitCode = 1;
} finally {
  for (const step of cleanups.splice(0).reverse()) await step().catch(() => {});
}
process.exit(exitCode);
