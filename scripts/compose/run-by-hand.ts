/**
 * Runs, on this machine, what docker-compose.yml runs in containers: each app service's command with its
 * environment (service host names pointing at 127.0.0.1), the healthcheck commands, SIGTERM and its exit
 * code; then all roles together, with a command and a query through the admin CLI.
 *
 * Two deviations, both to stay off what others run on a shared machine: the database is
 * `--database` (default clone_compose_check, created and dropped) and NATS_PREFIX is `--prefix`
 * (default compose_check, its streams deleted). When the roles run together, worker, relay and
 * consistency get METRICS_PORT 9464, 9465, 9466: containers each have their own 9464, one host does not.
 */
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import pg from "pg";
import { type ComposeFile, commandOf, environmentOf, localEnvironment } from "./load";

/** Options of {@link runByHand}. */
export interface RunOptions {
  readonly root: string;
  readonly database: string;
  readonly prefix: string;
  readonly keep: boolean;
  readonly log: (line: string) => void;
}

interface Running {
  readonly name: string;
  readonly child: ReturnType<typeof Bun.spawn>;
  /** Lines of stdout and stderr as they came. */
  readonly lines: string[];
  /** Lines of stdout only. */
  readonly out: string[];
  readonly exited: Promise<number>;
}

const ROLES = ["gateway", "worker", "relay", "consistency"] as const;
const READY = /gateway listening|command worker started|outbox relay started|consistency started/;

/** Runs everything; returns the number of failures. */
export async function runByHand(compose: ComposeFile, options: RunOptions): Promise<number> {
  const { log } = options;
  let failures = 0;
  const fail = (message: string) => {
    failures++;
    log(`FAIL ${message}`);
  };
  const names = Object.keys(compose.services);
  const envOf = (service: string, extra: Record<string, string> = {}): Record<string, string> => {
    const env = localEnvironment(environmentOf(compose.services[service] ?? {}), names);
    const db = new URL(env.DATABASE_URL as string);
    db.pathname = `/${options.database}`;
    return {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "/tmp",
      NODE_ENV: "production",
      ...env,
      DATABASE_URL: db.toString(),
      NATS_PREFIX: options.prefix,
      ...extra,
    };
  };
  const admin = new URL(envOf("migrate").DATABASE_URL as string);
  admin.pathname = "/postgres";
  await withClient(admin.toString(), (c) => c.query(`CREATE DATABASE ${options.database}`)).catch(() => {});
  const started: Running[] = [];
  try {
    const migrate = start(
      "migrate",
      commandOf(compose.services.migrate ?? {}),
      envOf("migrate"),
      options.root,
    );
    const code = await migrate.exited;
    log(`migrate: ${commandOf(compose.services.migrate ?? {}).join(" ")} -> exit ${code}`);
    for (const l of migrate.lines) log(`  | ${l}`);
    if (code !== 0) fail("migrate did not exit 0");

    for (const role of ROLES) {
      const p = start(role, commandOf(compose.services[role] ?? {}), envOf(role), options.root);
      started.push(p);
      failures += await checkOne(p, compose, options);
    }

    log("all roles together (METRICS_PORT 9464/9465/9466 for worker/relay/consistency):");
    const together = ROLES.map((role, i) =>
      start(
        role,
        commandOf(compose.services[role] ?? {}),
        envOf(role, role === "gateway" ? {} : { METRICS_PORT: String(9463 + i) }),
        options.root,
      ),
    );
    started.push(...together);
    await Promise.all(together.map((p) => waitForLine(p, READY, 30_000)));
    failures += await throughTheCli(envOf("gateway"), options);
    for (const p of together) {
      const { code, ms } = await terminate(p);
      log(`  ${p.name}: SIGTERM -> exit ${code} in ${ms} ms`);
      if (code !== 0) fail(`${p.name} did not exit 0 on SIGTERM`);
    }
  } finally {
    for (const p of started) p.child.kill("SIGKILL");
    if (!options.keep) {
      await withClient(admin.toString(), (c) =>
        c.query(`DROP DATABASE IF EXISTS ${options.database} WITH (FORCE)`),
      );
      await deleteStreams(envOf("gateway").NATS_URL as string, options.prefix);
    }
  }
  return failures;
}

/** One role alone: starts, answers its healthcheck, stops on SIGTERM with exit 0. */
async function checkOne(p: Running, compose: ComposeFile, options: RunOptions): Promise<number> {
  const { log } = options;
  let failures = 0;
  const ready = await waitForLine(p, READY, 30_000);
  log(`${p.name}: ${ready ? `started (${ready})` : "did not start"}`);
  if (!ready) failures++;
  const test = compose.services[p.name]?.healthcheck?.test;
  if (Array.isArray(test) && test[0] === "CMD") {
    let ok = false;
    for (let i = 0; i < 20 && !ok; i++) {
      const h = Bun.spawn([...test.slice(1)], { stdout: "ignore", stderr: "ignore" });
      ok = (await h.exited) === 0;
      if (!ok) await Bun.sleep(500);
    }
    log(`${p.name}: healthcheck ${test.slice(1, 3).join(" ")} ... -> ${ok ? "healthy" : "FAILED (10 s)"}`);
    if (!ok) failures++;
  }
  const { code, ms } = await terminate(p);
  log(`${p.name}: SIGTERM -> exit ${code} in ${ms} ms; last log: ${p.lines.at(-1) ?? ""}`);
  if (code !== 0) failures++;
  return failures;
}

/** A command and a query through the admin CLI, then `lag` and `rebuild`. */
async function throughTheCli(env: Record<string, string>, options: RunOptions): Promise<number> {
  const cli = (args: string[]) => {
    const p = start("cli", ["bun", "run", "cli", ...args], env, options.root);
    return p.exited.then((code) => ({ code, out: p.out.join("\n"), err: p.lines.join("\n") }));
  };
  let failures = 0;
  const created = await cli([
    "command",
    "CreateUser",
    '{"email":"compose@example.com","displayName":"Compose"}',
  ]);
  options.log(
    `  cli command CreateUser -> exit ${created.code}: ${created.out.replace(/\s+/g, " ").slice(0, 160)}`,
  );
  const result = created.code === 0 ? (JSON.parse(created.out).result as Record<string, string>) : undefined;
  if (!result) {
    options.log(created.err);
    return 1;
  }
  const read = await cli([
    "query",
    "GetUserProfile",
    JSON.stringify({ userId: result.aggregateId, options: { minConsistencyToken: result.consistencyToken } }),
  ]);
  options.log(
    `  cli query GetUserProfile (read-your-writes) -> exit ${read.code}: ${read.out.replace(/\s+/g, " ").slice(0, 120)}`,
  );
  if (read.code !== 0 || !read.out.includes("compose@example.com")) failures++;
  for (const command of ["lag", "rebuild"]) {
    const r = await cli([command]);
    options.log(`  cli ${command} -> exit ${r.code}`);
    for (const l of r.err.split("\n")) options.log(`    | ${l}`);
    if (r.code !== 0) failures++;
  }
  return failures;
}

function start(name: string, command: string[], env: Record<string, string>, cwd: string): Running {
  const child = Bun.spawn(command, { cwd, env, stdout: "pipe", stderr: "pipe" });
  const lines: string[] = [];
  const out: string[] = [];
  const read = async (stream: ReadableStream<Uint8Array>, also?: string[]) => {
    let buffered = "";
    for await (const chunk of stream) {
      buffered += new TextDecoder().decode(chunk);
      const parts = buffered.split("\n");
      buffered = parts.pop() ?? "";
      const kept = parts.filter((l) => l.trim() !== "");
      lines.push(...kept);
      also?.push(...kept);
    }
    if (buffered.trim() !== "") {
      lines.push(buffered);
      also?.push(buffered);
    }
  };
  const streams = Promise.all([read(child.stdout, out), read(child.stderr)]);
  return {
    name,
    child,
    lines,
    out,
    exited: child.exited.then(async (code) => {
      await streams;
      return code;
    }),
  };
}

async function waitForLine(p: Running, pattern: RegExp, timeoutMs: number): Promise<string | undefined> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const hit = p.lines.map(messageOf).find((m) => pattern.test(m));
    if (hit) return hit;
    await Bun.sleep(50);
  }
  return undefined;
}

function messageOf(line: string): string {
  try {
    return String((JSON.parse(line) as { msg?: unknown }).msg ?? line);
  } catch {
    return line;
  }
}

async function terminate(p: Running): Promise<{ code: number; ms: number }> {
  const since = performance.now();
  p.child.kill("SIGTERM");
  const code = await p.exited;
  return { code, ms: Math.round(performance.now() - since) };
}

async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

async function deleteStreams(natsUrl: string, prefix: string): Promise<void> {
  const nc = await connect({ servers: natsUrl });
  try {
    const jsm = await jetstreamManager(nc);
    const doomed: string[] = [];
    for await (const name of jsm.streams.names()) if (name.startsWith(`${prefix}_`)) doomed.push(name);
    for (const name of doomed) await jsm.streams.delete(name);
  } finally {
    await nc.close();
  }
}
