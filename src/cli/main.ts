/**
 * The admin CLI: `bun run cli <command>` (see `bun run cli help`). Configuration comes from src/config.ts
 * like every other process: AUTH_JWT_SECRET for tokens, GRPC_PORT for the default address, DATABASE_URL for
 * `lag`, `rebuild` and `dead-letters`.
 *
 * Exit codes: 0 done, 1 the call or the database work failed, 2 a usage or configuration mistake.
 */
import { type Config, ConfigError, loadConfig } from "../config";
import { createPool } from "../db";
import { mintToken } from "../gateway";
import { type CliCommand, parseCliArgs, UsageError, usage } from "./args";
import { runDeadLetters } from "./dead-letters";
import { runHistory } from "./history";
import { formatLag, lagToJson, readLag } from "./lag";
import { formatRebuild, progressPrinter, rebuildViews } from "./rebuild";
import { type CliIo, runRpc } from "./rpc";
import { runViews } from "./views";

/** Where the CLI writes, and whether stderr is a terminal (for the progress bar). */
export interface CliEnvironment extends CliIo {
  readonly stderrIsTty: boolean;
  /** Asks a yes/no question on the terminal; absent when stdin is no terminal. */
  readonly confirm?: (question: string) => Promise<boolean>;
  readonly env: Record<string, string | undefined>;
}

/** Runs one CLI invocation; returns its exit code. */
export async function runCli(argv: readonly string[], io: CliEnvironment): Promise<number> {
  let command: CliCommand;
  let config: Config;
  try {
    command = parseCliArgs(argv);
    config = loadConfig(io.env);
  } catch (error) {
    if (!(error instanceof UsageError || error instanceof ConfigError)) throw error;
    io.err(`cli: ${error.message}`);
    if (error instanceof UsageError) io.err(`\n${usage}`);
    return 2;
  }
  try {
    return await run(command, config, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`cli: ${error.message}`);
      return 2;
    }
    io.err(`cli: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
}

async function run(command: CliCommand, config: Config, io: CliEnvironment): Promise<number> {
  switch (command.kind) {
    case "help":
      io.out(usage);
      return 0;
    case "token":
      io.out(
        await mintToken({
          sub: command.sub,
          role: command.role,
          secret: config.auth.jwtSecret,
          expiresIn: command.ttl,
        }),
      );
      return 0;
    case "rpc": {
      const interrupt = new AbortController();
      const onSigint = () => interrupt.abort();
      process.once("SIGINT", onSigint);
      try {
        return await runRpc(
          {
            ...command,
            addr: command.addr ?? `127.0.0.1:${config.grpc.port}`,
            jwtSecret: config.auth.jwtSecret,
            signal: interrupt.signal,
          },
          io,
        );
      } finally {
        process.off("SIGINT", onSigint);
      }
    }
    case "dead-letters":
      return withDatabase(config, (pool) => runDeadLetters(command, pool, io));
    case "views":
      return withDatabase(config, (pool) => runViews(command, pool, io));
    case "history":
      return runHistory(
        {
          ...command,
          addr: command.addr ?? `127.0.0.1:${config.grpc.port}`,
          jwtSecret: config.auth.jwtSecret,
        },
        io,
      );
    case "lag":
    case "rebuild":
      return withDatabase(config, async (pool) => {
        if (command.kind === "lag") {
          const report = await readLag(pool);
          io.out(command.json ? JSON.stringify(lagToJson(report), null, 2) : formatLag(report));
          return 0;
        }
        const progress = progressPrinter(io.err, io.stderrIsTty);
        try {
          const steps = await rebuildViews(pool, progress.report);
          io.out(command.json ? JSON.stringify(steps, null, 2) : formatRebuild(steps));
        } finally {
          progress.stop();
        }
        return 0;
      });
    default: {
      const exhaustive: never = command;
      throw new Error(`unhandled command ${JSON.stringify(exhaustive)}`);
    }
  }
}

async function withDatabase(config: Config, fn: (pool: ReturnType<typeof createPool>) => Promise<number>) {
  if (config.databaseUrl === undefined)
    throw new UsageError(
      "DATABASE_URL is required, e.g. DATABASE_URL=postgres://postgres@127.0.0.1:5432/clone. The embedded " +
        "mode's database lives inside the `bun start` process and is not shared: there the views are " +
        "refreshed in that process, and their lag is clone_consistency_lag_seconds on http://127.0.0.1:$HTTP_PORT/metrics",
    );
  const pool = createPool(config.databaseUrl, { max: 2, applicationName: "clone-cli" });
  try {
    return await fn(pool);
  } finally {
    await pool.end();
  }
}

if (import.meta.main) {
  const code = await runCli(process.argv.slice(2), {
    out: (text) => process.stdout.write(`${text}\n`),
    err: (text) => process.stderr.write(text.endsWith("\n") || text.startsWith("\r") ? text : `${text}\n`),
    readStdin: () => Bun.stdin.text(),
    stderrIsTty: process.stderr.isTTY === true,
    ...(process.stdin.isTTY === true
      ? { confirm: async (question: string) => /^y(es)?$/i.test((prompt(question) ?? "").trim()) }
      : {}),
    env: process.env,
  });
  process.exit(code);
}
