/**
 * `bun run check:layers`: fails (exit 1) when a folder of `src/` imports a folder its row of
 * scripts/layers/allowed.ts does not list, or when folders import each other in a cycle. Prints each problem
 * with the imports that cause it.
 */
import { join } from "node:path";
import { allowedDependencies, knownCycleEdges } from "./layers/allowed";
import { findCycles, findViolations, readFolderGraph } from "./layers/graph";

const graph = readFolderGraph(join(import.meta.dir, "..", "src"));
const problems = findViolations(graph, allowedDependencies);
for (const cycle of findCycles(graph, knownCycleEdges)) {
  problems.push(`folder cycle: ${cycle.join(", ")} (each reaches the others through imports)`);
}
for (const edge of knownCycleEdges) {
  const [from, to] = edge.split(" -> ") as [string, string];
  if (!graph.get(from)?.has(to))
    console.log(`note: the known cycle edge ${edge} is gone: remove it from knownCycleEdges`);
}
for (const problem of problems) console.log(`FAIL ${problem}`);
console.log(
  problems.length === 0
    ? `layers: ${graph.size} folders, no cycle, every import allowed (known cycle edges left out: ${[...knownCycleEdges].join(", ") || "none"})`
    : `layers: ${problems.length} problems`,
);
process.exit(problems.length === 0 ? 0 : 1);
