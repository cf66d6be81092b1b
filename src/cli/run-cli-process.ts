/** Runs the admin CLI as a child process, as an operator does (for the CLI's tests). */
import { spawn } from "bun";

const cli = new URL("./main.ts", import.meta.url).pathname;

/** Runs `bun src/cli/main.ts ...args` with only `env` (and PATH); resolves with its exit code and output. */
export async function runCliProcess(args: readonly string[], env: Record<string, string> = {}) {
  const child = spawn(["bun", cli, ...args], {
    env: { PATH: process.env.PATH ?? "", ...env },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited,
  ]);
  return { code, stdout, stderr };
}
