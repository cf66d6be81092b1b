/**
 * CPU time spent per operation, by process, read from Linux `/proc` around each measured slice: on a machine
 * with few cores the command path is bounded by the CPU all its processes need per command, so this says
 * where the time goes more surely than latencies do. Also the whole machine's busy time, which shows load
 * from outside the benchmark. Elsewhere than Linux the meter reports nothing and the benchmark goes on.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import type pg from "pg";

/** CPU milliseconds by process label, and the machine's busy milliseconds (all cores). */
export interface CpuSample {
  readonly byProcess: ReadonlyMap<string, number>;
  /** Each Postgres backend's total, by pid (empty in a difference, where they are summed as `postgres`). */
  readonly backends: ReadonlyMap<number, number>;
  readonly machineBusyMs: number;
  /** Wall clock: when it was taken (`performance.now()`), or for a difference the time between. */
  readonly wallMs: number;
}

/** Takes samples; {@link diffSamples} gives what was spent between two. */
export interface CpuMeter {
  sample(): Promise<CpuSample>;
}

/** Processes to watch by label; Postgres backends are found per sample among `database`'s sessions. */
export interface CpuMeterTargets {
  readonly pids: ReadonlyMap<string, number>;
  readonly database: { readonly pool: pg.Pool; readonly name: string };
}

const ticksPerSecond = clockTicks();

/** A meter, or undefined where `/proc` is missing. */
export function createCpuMeter(targets: CpuMeterTargets): CpuMeter | undefined {
  if (!existsSync("/proc/stat")) return undefined;
  const natsPid = findProcess("nats-server");
  return {
    async sample() {
      const byProcess = new Map<string, number>();
      const self = process.cpuUsage();
      byProcess.set("bench client", (self.user + self.system) / 1000);
      for (const [label, pid] of targets.pids) byProcess.set(label, processCpuMs(pid) ?? 0);
      if (natsPid !== undefined) byProcess.set("nats-server", processCpuMs(natsPid) ?? 0);
      const backends = await targets.database.pool.query<{ pid: number }>(
        "SELECT pid FROM pg_stat_activity WHERE datname = $1",
        [targets.database.name],
      );
      const perBackend = new Map<number, number>();
      for (const { pid } of backends.rows) perBackend.set(pid, processCpuMs(pid) ?? 0);
      return { byProcess, backends: perBackend, machineBusyMs: machineBusyMs(), wallMs: performance.now() };
    },
  };
}

/**
 * What was spent from `a` to `b`. A Postgres backend that started in between counts whole; one that ended in
 * between is lost (pools here keep their connections open, so that is rare).
 */
export function diffSamples(a: CpuSample, b: CpuSample): CpuSample {
  const byProcess = new Map<string, number>();
  for (const [label, ms] of b.byProcess)
    byProcess.set(label, Math.max(0, ms - (a.byProcess.get(label) ?? 0)));
  let postgres = 0;
  for (const [pid, ms] of b.backends) postgres += Math.max(0, ms - (a.backends.get(pid) ?? 0));
  byProcess.set("postgres", postgres);
  return {
    byProcess,
    backends: new Map(),
    machineBusyMs: b.machineBusyMs - a.machineBusyMs,
    wallMs: b.wallMs - a.wallMs,
  };
}

/** The sum of several differences. */
export function addSamples(samples: readonly CpuSample[]): CpuSample {
  const byProcess = new Map<string, number>();
  for (const s of samples) for (const [l, ms] of s.byProcess) byProcess.set(l, (byProcess.get(l) ?? 0) + ms);
  const sum = (f: (s: CpuSample) => number) => samples.reduce((n, s) => n + f(s), 0);
  return {
    byProcess,
    backends: new Map(),
    machineBusyMs: sum((s) => s.machineBusyMs),
    wallMs: sum((s) => s.wallMs),
  };
}

/** utime + stime of a process (all its threads), ms; undefined when it is gone. */
function processCpuMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / ticksPerSecond;
  } catch {
    return undefined;
  }
}

/** Busy time of all cores (everything but idle and iowait), ms. */
function machineBusyMs(): number {
  const cpu =
    readFileSync("/proc/stat", "utf8").split("\n")[0]?.trim().split(/\s+/).slice(1).map(Number) ?? [];
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = cpu;
  return ((user + nice + system + irq + softirq + steal) * 1000) / ticksPerSecond;
}

function findProcess(comm: string): number | undefined {
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, "utf8").trim() === comm) return Number(entry);
    } catch {}
  }
  return undefined;
}

function clockTicks(): number {
  try {
    const out = Bun.spawnSync(["getconf", "CLK_TCK"]).stdout.toString().trim();
    const n = Number(out);
    return Number.isFinite(n) && n > 0 ? n : 100;
  } catch {
    return 100;
  }
}
