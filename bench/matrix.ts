/**
 * The measurement proper: for each concurrency, the workloads interleaved (interleave.ts), then what the
 * probes saw of the command path at that concurrency (its batching and where its time went).
 */
import type pg from "pg";
import { commitProbe } from "./commit-probe";
import type { CpuMeter, CpuSample } from "./cpu-meter";
import { prepareInsertWorkload } from "./insert-workload";
import { runInterleaved } from "./interleave";
import type { Operation } from "./load";
import type { PathBreakdown, PathProbe } from "./path-probe";
import type { Results, Workload } from "./report";
import { type Summary, summarize } from "./stats";

/** What the matrix needs. */
export interface MatrixInput {
  readonly concurrencies: readonly number[];
  readonly durationMs: number;
  readonly slices: number;
  readonly maxPool: number;
  /** The workloads other than the bare insert, whose pool is sized per concurrency here. */
  readonly ops: { readonly e2e: Operation; readonly echo: Operation; readonly jsPublish?: Operation };
  readonly database: { readonly url: string; readonly pool: pg.Pool };
  readonly probe: PathProbe;
  readonly meter: CpuMeter | undefined;
  readonly progress: (line: string) => void;
}

/** Everything measured, by concurrency. */
export interface MatrixOutput {
  readonly results: Results;
  /** Insert pool size per concurrency. */
  readonly insertNotes: Map<number, string>;
  readonly breakdowns: Map<number, PathBreakdown>;
  /** Commands per commit of the e2e slices, per concurrency. */
  readonly batching: Map<number, { events: number; transactions: number }>;
  readonly cpu: Map<number, Map<Workload, { sample: CpuSample; ops: number }>>;
}

/** Runs every cell. */
export async function runMatrix(input: MatrixInput): Promise<MatrixOutput> {
  const out: MatrixOutput = {
    results: new Map(),
    insertNotes: new Map(),
    breakdowns: new Map(),
    batching: new Map(),
    cpu: new Map(),
  };
  for (const concurrency of input.concurrencies) {
    const size = Math.min(concurrency, input.maxPool);
    const insert = await prepareInsertWorkload(input.database.url, size, input.database.pool);
    try {
      const committed = await commitProbe(input.database.pool);
      const measured = await runInterleaved<Workload>(
        [
          { name: "e2e", op: input.ops.e2e },
          { name: "echo", op: input.ops.echo },
          { name: "insert", op: insert.op },
          ...(input.ops.jsPublish ? [{ name: "js-publish" as const, op: input.ops.jsPublish }] : []),
        ],
        concurrency,
        input.durationMs,
        input.slices,
        input.meter,
      );
      // Only the e2e slices write events, so these are the command path's own numbers at this concurrency.
      out.batching.set(concurrency, await committed());
      out.breakdowns.set(concurrency, await input.probe.collect(input.database.pool));
      out.insertNotes.set(concurrency, `pool ${insert.poolSize}`);
      const row = new Map<Workload, Summary>();
      const cpuRow = new Map<Workload, { sample: CpuSample; ops: number }>();
      out.results.set(concurrency, row);
      out.cpu.set(concurrency, cpuRow);
      for (const [workload, { load, cpu }] of measured) {
        const s = summarize(load);
        row.set(workload, s);
        if (cpu) cpuRow.set(workload, { sample: cpu, ops: load.latenciesMs.length });
        const errors = s.errors > 0 ? `, ${s.errors} errors: ${load.errorSamples.join(" | ")}` : "";
        input.progress(
          `c=${concurrency} ${workload}: ${s.opsPerSecond.toFixed(0)} ops/s, p50 ${s.p50Ms.toFixed(2)} ms, ` +
            `p99 ${s.p99Ms.toFixed(2)} ms${errors}`,
        );
      }
    } finally {
      await insert.close();
    }
  }
  return out;
}
