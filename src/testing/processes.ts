/**
 * Runs the service's roles as real child processes (`bun src/main.ts --role X`) for end-to-end tests:
 * several gateways and workers against one test database and one NATS prefix.
 */
import { type Subprocess, spawn } from "bun";

/** A role running in a child process. */
export interface RoleProcess {
  readonly role: string;
  readonly pid: number;
  /** Every JSON log line the process printed so far. */
  readonly logs: Record<string, unknown>[];
  /** Resolves with the first log line that matches. */
  waitForLog(
    match: (line: Record<string, unknown>) => boolean,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
  /** The exit code once the process has exited; null while it runs. */
  exitCode(): number | null;
  /** Sends a signal and waits for the process to exit. */
  kill(signal?: NodeJS.Signals): Promise<number | null>;
  /** Resolves with the exit code (null when a signal ended it) once the process has exited. */
  readonly exited: Promise<number | null>;
  /** Everything the process wrote to stderr so far. */
  stderr(): string;
}

const mainModule = new URL("../main.ts", import.meta.url).pathname;

/**
 * The runtime settings the image and `bun start` give every process (README, "Runtime settings"), for the
 * processes tests and benchmarks start: Bun's idle GC timer off, and JavaScriptCore's top (FTL) compiler tier off.
 * Spread before the inherited environment, so a value set there wins.
 */
export const RUNTIME_ENV: Readonly<Record<string, string>> = {
  BUN_GC_TIMER_DISABLE: "1",
  BUN_JSC_useFTLJIT: "0",
};

/** Options of {@link startRole}. */
export interface StartRoleOptions {
  /** Variables removed from the inherited environment (e.g. DATABASE_URL and NATS_URL for the embedded mode). */
  readonly unsetEnv?: readonly string[];
  /**
   * Runs the role under Bun's CPU profiler (`--cpu-prof --cpu-prof-md`), writing `<role>-<n>.cpuprofile` and
   * `<role>-<n>.md` into this directory when the process exits (gracefully: SIGTERM, not SIGKILL). Only the
   * process's main thread is sampled: Bun does not profile worker threads.
   */
  readonly cpuProfileDir?: string;
}

/** Profiles started so far, so that several processes of one role get distinct file names. */
let profiled = 0;

/** Starts `bun src/main.ts --role <role>` with the given environment added; resolves once it says it started. */
export async function startRole(
  role: "gateway" | "worker" | "relay" | "all" | "consistency",
  env: Record<string, string>,
  ready: (line: Record<string, unknown>) => boolean,
  options: StartRoleOptions = {},
): Promise<RoleProcess> {
  const inherited: Record<string, string | undefined> = { ...process.env };
  for (const name of options.unsetEnv ?? []) delete inherited[name];
  const profile =
    options.cpuProfileDir === undefined
      ? []
      : [
          "--cpu-prof",
          "--cpu-prof-md",
          `--cpu-prof-dir=${options.cpuProfileDir}`,
          `--cpu-prof-name=${role}-${++profiled}`,
        ];
  const child: Subprocess<"ignore", "pipe", "pipe"> = spawn(["bun", ...profile, mainModule, "--role", role], {
    // Free ports unless the test picks them: processes started side by side must not race for :8080/:9464.
    env: {
      ...RUNTIME_ENV,
      ...inherited,
      LOG_LEVEL: "info",
      HTTP_PORT: "0",
      METRICS_PORT: "0",
      ...env,
    },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const logs: Record<string, unknown>[] = [];
  const waiters: Array<{
    match: (l: Record<string, unknown>) => boolean;
    resolve: (l: Record<string, unknown>) => void;
  }> = [];
  let stderr = "";
  void (async () => {
    const decoder = new TextDecoder();
    let buffered = "";
    for await (const chunk of child.stdout) {
      buffered += decoder.decode(chunk, { stream: true });
      let nl = buffered.indexOf("\n");
      while (nl >= 0) {
        const text = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        nl = buffered.indexOf("\n");
        let line: Record<string, unknown>;
        try {
          line = JSON.parse(text) as Record<string, unknown>;
        } catch {
          continue;
        }
        logs.push(line);
        for (const w of [...waiters]) {
          if (w.match(line)) {
            waiters.splice(waiters.indexOf(w), 1);
            w.resolve(line);
          }
        }
      }
    }
  })();
  void (async () => {
    for await (const chunk of child.stderr) stderr += new TextDecoder().decode(chunk);
  })();

  const proc: RoleProcess = {
    role,
    pid: child.pid,
    logs,
    waitForLog(match, timeoutMs = 20_000) {
      const seen = logs.find(match);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(new Error(`${role} did not log the expected line in ${timeoutMs} ms; stderr: ${stderr}`)),
          timeoutMs,
        );
        waiters.push({
          match,
          resolve: (l) => {
            clearTimeout(timer);
            resolve(l);
          },
        });
        void child.exited.then((code) => {
          clearTimeout(timer);
          reject(new Error(`${role} exited with ${code} before it was ready; stderr: ${stderr}`));
        });
      });
    },
    exitCode: () => child.exitCode,
    async kill(signal = "SIGTERM") {
      child.kill(signal);
      return child.exited;
    },
    exited: child.exited.then(() => child.exitCode),
    stderr: () => stderr,
  };
  await proc.waitForLog(ready);
  return proc;
}

/** The log line a gateway prints when it listens; carries `grpcPort` and `httpPort`. */
export const gatewayReady = (l: Record<string, unknown>) => l.msg === "gateway listening";
/** The log line a worker prints when it consumes. */
export const workerReady = (l: Record<string, unknown>) => l.msg === "command worker started";
