/**
 * Runs several workloads at one concurrency, interleaved: the measured time of each is cut into slices and the
 * slices are run round-robin (A B C A B C ...). On a shared machine, load from elsewhere then falls on all of them
 * alike, and their ratios stay meaningful even when the absolute numbers move. With a CPU meter, the CPU each
 * workload's slices used is measured too.
 */
import { addSamples, type CpuMeter, type CpuSample, diffSamples } from "./cpu-meter";
import { type Operation, runClosedLoop } from "./load";
import { type LoadResult, mergeResults } from "./stats";

/** A named workload. */
export interface NamedWorkload<N extends string> {
  readonly name: N;
  readonly op: Operation;
}

/** What the slices of one workload measured, together. */
export interface InterleavedResult {
  readonly load: LoadResult;
  /** CPU spent during its slices; undefined without a meter. */
  readonly cpu: CpuSample | undefined;
}

/** Runs every workload for `durationMs` in total, in `slices` round-robin turns; results by name. */
export async function runInterleaved<N extends string>(
  workloads: readonly NamedWorkload<N>[],
  concurrency: number,
  durationMs: number,
  slices: number,
  meter?: CpuMeter,
): Promise<Map<N, InterleavedResult>> {
  const runs = new Map<N, { loads: LoadResult[]; cpu: CpuSample[] }>(
    workloads.map((w) => [w.name, { loads: [], cpu: [] }]),
  );
  for (let slice = 0; slice < slices; slice++) {
    for (const w of workloads) {
      const run = runs.get(w.name);
      const before = await meter?.sample();
      run?.loads.push(await runClosedLoop(concurrency, durationMs / slices, w.op));
      const after = await meter?.sample();
      if (before && after) run?.cpu.push(diffSamples(before, after));
    }
  }
  return new Map(
    [...runs].map(([name, r]) => [
      name,
      { load: mergeResults(r.loads), cpu: r.cpu.length > 0 ? addSamples(r.cpu) : undefined },
    ]),
  );
}
