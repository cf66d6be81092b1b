/** A `bun <script> [args]` child process that announces itself with a JSON line on stdout. */
import { type Subprocess, spawn } from "bun";
import { RUNTIME_ENV } from "../src/testing";

/** A running child and the JSON line it announced itself with. */
export interface BenchChild {
  readonly pid: number;
  readonly ready: Record<string, unknown>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when it exited. */
  stop(graceMs?: number): Promise<void>;
}

/** Options of {@link startBenchChild}. */
export interface BenchChildOptions {
  readonly args?: readonly string[];
  /** Every stdout line after the ready one. */
  readonly onLine?: (line: string) => void;
  readonly timeoutMs?: number;
}

/** Starts `bun <script>` and resolves once a stdout JSON line is accepted by `isReady`. */
export async function startBenchChild(
  script: URL,
  isReady: (line: Record<string, unknown>) => boolean,
  options: BenchChildOptions = {},
): Promise<BenchChild> {
  const child: Subprocess<"ignore", "pipe", "inherit"> = spawn(
    ["bun", script.pathname, ...(options.args ?? [])],
    {
      // The same runtime settings as the service's processes, so that the peer behind gRPC and the echo
      // server are measured as the service is.
      env: { ...RUNTIME_ENV, ...process.env },
      stdin: "ignore",
      stdout: "pipe",
      stderr: "inherit",
    },
  );
  const stop = (graceMs = 3_000) => stopProcess(child, graceMs);
  const timeoutMs = options.timeoutMs ?? 20_000;
  let timer: Timer | undefined;
  try {
    const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
      timer = setTimeout(
        () => reject(new Error(`${script.pathname} was not ready within ${timeoutMs} ms`)),
        timeoutMs,
      );
      let announced = false;
      void readLines(child, (text) => {
        if (announced) return options.onLine?.(text);
        try {
          const line = JSON.parse(text) as Record<string, unknown>;
          if (isReady(line)) {
            announced = true;
            resolve(line);
          }
        } catch {}
      }).then(async () => {
        if (!announced)
          reject(new Error(`${script.pathname} exited with ${await child.exited} before it was ready`));
      }, reject);
    });
    return { pid: child.pid, ready, stop };
  } catch (error) {
    await stop(0);
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

/** Calls `onLine` for each line of the child's stdout until it closes. */
async function readLines(child: Subprocess<"ignore", "pipe", "inherit">, onLine: (line: string) => void) {
  const decoder = new TextDecoder();
  let buffered = "";
  for await (const chunk of child.stdout) {
    buffered += decoder.decode(chunk, { stream: true });
    for (let nl = buffered.indexOf("\n"); nl >= 0; nl = buffered.indexOf("\n")) {
      onLine(buffered.slice(0, nl));
      buffered = buffered.slice(nl + 1);
    }
  }
}

/** SIGTERM, then SIGKILL if it has not exited after `graceMs`. */
export async function stopProcess(
  child: { readonly exited: Promise<unknown>; kill(signal?: NodeJS.Signals): void },
  graceMs: number,
): Promise<void> {
  if (graceMs > 0) {
    child.kill("SIGTERM");
    const exited = await Promise.race([child.exited.then(() => true), Bun.sleep(graceMs).then(() => false)]);
    if (exited) return;
  }
  child.kill("SIGKILL");
  await child.exited;
}
