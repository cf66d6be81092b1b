/**
 * `bun bench/paired.ts <refA> <refB> [--pairs N] [--bench commands|queries] [--keep DIR]`: a maintainer's
 * before/after comparison of two commits on this shared machine.
 *
 * It checks both refs out as temporary git worktrees (with `bun install --frozen-lockfile` in each), runs
 * `bun run bench:<bench>` of each in turn, A,B then B,A then A,B..., N pairs, and prints each metric's median
 * over the runs of A and of B and their ratio B/A (paired-report.ts), then removes the worktrees. Runs
 * alternate because the machine's two cores are shared with other work: load that comes and goes falls on
 * both refs alike, and the range of the single pairs' ratios says how much one pair can be trusted.
 *
 * Each ref runs its own bench/, so the comparison covers what that checkout's benchmark measures; the bench's
 * BENCH_* settings are taken from this process's environment by both (an option one ref does not know is
 * ignored by it), e.g. `BENCH_SECONDS=3 BENCH_CONCURRENCY=1,64 BENCH_PEER_ROWS=0 bun bench/paired.ts ...`.
 * `--keep DIR` keeps every run's printed report there; `--from DIR` prints the table of reports kept so, without
 * running anything. A run that fails is run again (three times at most, 30 s apart); exits 1
 * when it still fails (after cleaning up).
 */
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { spawn } from "bun";
import {
  type Bench,
  benches,
  formatPaired,
  type PairedRuns,
  parsers,
  type RunMetrics,
} from "./paired-report";

const progress = (line: string) => process.stderr.write(`${line}\n`);
const repoRoot = join(import.meta.dir, "..");

/** Runs a command to its end; resolves with its stdout, throws when it exits non-zero. */
async function run(cmd: readonly string[], cwd: string, stdout: "pipe" | "ignore" = "pipe"): Promise<string> {
  const child = spawn([...cmd], { cwd, stdin: "ignore", stdout, stderr: "inherit" });
  const text = stdout === "pipe" ? await new Response(child.stdout).text() : "";
  const code = await child.exited;
  if (code !== 0) throw new Error(`${cmd.join(" ")} (in ${cwd}) exited with ${code}`);
  return text;
}

/** Runs of a bench that failed are run again this many times before paired.ts gives up. */
const retries = 3;

/**
 * One run of `bun run bench:<bench>` in `dir`, run again when it fails: on this shared machine a failure is
 * most often the shared Postgres refusing connections for a while ("too many clients"), not the ref.
 */
async function runBench(bench: Bench, dir: string, interrupted: () => boolean): Promise<string> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await run(["bun", "run", `bench:${bench}`], dir);
    } catch (error) {
      if (attempt >= retries || interrupted()) throw error;
      progress(
        `  failed (${error instanceof Error ? error.message : String(error)}); running it again in 30 s`,
      );
      await Bun.sleep(30_000);
    }
  }
}

/** One ref checked out: its label, commit and worktree. */
interface Checkout {
  readonly label: "A" | "B";
  readonly ref: string;
  readonly commit: string;
  readonly subject: string;
  readonly dir: string;
}

/** Checks `ref` out under `parent`; the worktree is added to `worktrees` (to remove) before it is installed. */
async function checkOut(
  label: "A" | "B",
  ref: string,
  parent: string,
  worktrees: string[],
): Promise<Checkout> {
  const commit = (await run(["git", "rev-parse", "--verify", `${ref}^{commit}`], repoRoot)).trim();
  const subject = (await run(["git", "log", "-1", "--format=%s", commit], repoRoot)).trim();
  const dir = join(parent, label);
  progress(`${label} = ${ref} (${commit.slice(0, 12)}): worktree and bun install`);
  await run(["git", "worktree", "add", "--detach", dir, commit], repoRoot, "ignore");
  worktrees.push(dir);
  await run(["bun", "install", "--frozen-lockfile"], dir, "ignore");
  return { label, ref, commit, subject, dir };
}

/**
 * The reports an earlier run kept (`--keep DIR`: `<bench>-<pair>-<A|B>-<commit>.txt`), read again, e.g. after
 * the parser learnt a metric; with the commits their names give.
 */
async function readKept(dir: string, bench: Bench): Promise<{ runs: PairedRuns; header: string[] }> {
  const runs = { a: [] as RunMetrics[], b: [] as RunMetrics[] };
  const commits = new Map<string, string>();
  for (const name of await readdir(dir)) {
    const m = new RegExp(`^${bench}-(\\d+)-(A|B)-(\\w+)\\.txt$`).exec(name);
    if (!m) continue;
    const text = await readFile(join(dir, name), "utf8");
    (m[2] === "A" ? runs.a : runs.b)[Number(m[1]) - 1] = parsers[bench](text);
    commits.set(m[2] as string, m[3] as string);
  }
  return { runs, header: [...commits].sort().map(([label, commit]) => `${label} = ${commit}`) };
}

/** The printed result. */
function formatResult(bench: Bench, runs: PairedRuns, header: readonly string[]): string {
  return [
    `bench:${bench}, ${runs.a.length} pairs run alternately (A,B, B,A, ...)`,
    ...header,
    "",
    formatPaired(runs),
  ].join("\n");
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      pairs: { type: "string", default: "3" },
      bench: { type: "string", default: "commands" },
      keep: { type: "string" },
      from: { type: "string" },
    },
  });
  const pairs = Number(values.pairs);
  const bench = values.bench as Bench;
  const usable =
    values.from !== undefined || (positionals.length === 2 && Number.isInteger(pairs) && pairs > 0);
  if (!usable || !benches.includes(bench)) {
    progress(
      "usage: bun bench/paired.ts <refA> <refB> [--pairs N] [--bench commands|queries] [--keep DIR]\n" +
        "       bun bench/paired.ts --from DIR [--bench commands|queries]  (the reports --keep DIR kept)",
    );
    return 2;
  }
  if (values.from !== undefined) {
    const { runs, header } = await readKept(values.from, bench);
    console.log(formatResult(bench, runs, header));
    return 0;
  }
  if (values.keep !== undefined) await mkdir(values.keep, { recursive: true });
  const parent = await mkdtemp(join(tmpdir(), "paired-"));
  const checkouts: Checkout[] = [];
  const worktrees: string[] = [];
  let interrupted = false;
  // Ctrl-C reaches the running bench too, which cleans up after itself; this process then removes the worktrees.
  process.on("SIGINT", () => {
    interrupted = true;
  });
  try {
    for (const [label, ref] of [
      ["A", positionals[0]],
      ["B", positionals[1]],
    ] as const) {
      checkouts.push(await checkOut(label, ref as string, parent, worktrees));
    }
    const [a, b] = checkouts as [Checkout, Checkout];
    const runs = { a: [] as RunMetrics[], b: [] as RunMetrics[] };
    for (let pair = 0; pair < pairs && !interrupted; pair++) {
      for (const c of pair % 2 === 0 ? [a, b] : [b, a]) {
        const startedAt = performance.now();
        progress(`pair ${pair + 1}/${pairs}: ${c.label} (${c.commit.slice(0, 12)}) bench:${bench}`);
        const text = await runBench(bench, c.dir, () => interrupted);
        if (values.keep !== undefined) {
          await writeFile(
            join(values.keep, `${bench}-${pair + 1}-${c.label}-${c.commit.slice(0, 7)}.txt`),
            text,
          );
        }
        const metrics = parsers[bench](text);
        if (metrics.size === 0) throw new Error(`no metrics found in the report of ${c.label}:\n${text}`);
        (c === a ? runs.a : runs.b).push(metrics);
        progress(`  ${((performance.now() - startedAt) / 1000).toFixed(0)} s, ${metrics.size} metrics`);
      }
    }
    const header = checkouts.map(
      (c) => `${c.label} = ${c.ref} (${c.commit.slice(0, 12)} ${c.subject.slice(0, 80)})`,
    );
    console.log(formatResult(bench, runs, header));
    return interrupted ? 1 : 0;
  } finally {
    for (const dir of worktrees) {
      await run(["git", "worktree", "remove", "--force", dir], repoRoot, "ignore").catch((e) =>
        progress(String(e)),
      );
    }
    await rm(parent, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    progress(`paired: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
