import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { allowedDependencies, knownCycleEdges } from "./allowed";
import {
  type FolderGraph,
  findCycles,
  findViolations,
  importsOf,
  isTestCode,
  readFolderGraph,
} from "./graph";

function graphOf(edges: Record<string, string[]>): FolderGraph {
  return new Map(
    Object.entries(edges).map(([from, tos]) => [
      from,
      new Map(tos.map((to) => [to, [{ file: `${from}/x.ts`, specifier: `../${to}` }]])),
    ]),
  );
}

describe("import scanning", () => {
  test("finds static, type-only, re-exported, side-effect and dynamic imports, not comments", () => {
    const text = [
      'import { a } from "./a";',
      'import type {\n  B,\n  C,\n} from "../b";',
      'export { d } from "../d";',
      'import "./side";',
      'const e = await import("../e");',
      ' * import { no } from "../comment";',
    ].join("\n");
    expect(importsOf(text)).toEqual(["./a", "../b", "../d", "./side", "../e"]);
  });

  test("test code is told apart from product code", () => {
    expect(isTestCode("actors/mailboxes.unit.test.ts")).toBe(true);
    expect(isTestCode("read-models/driver.testkit.ts")).toBe(true);
    expect(isTestCode("gateway/fakes.testkit.ts")).toBe(true);
    expect(isTestCode("gateway/test-fakes.ts")).toBe(false);
    expect(isTestCode("testing/stack.ts")).toBe(true);
    expect(isTestCode("domain/user/user.testkit.ts")).toBe(true);
    expect(isTestCode("actors/mailboxes.ts")).toBe(false);
    expect(isTestCode("contracts/envelope.ts")).toBe(false);
  });
});

describe("cycles", () => {
  test("a cycle through three folders is one component; a chain is none", () => {
    const graph = graphOf({ a: ["b"], b: ["c"], c: ["a", "d"], d: [] });
    expect(findCycles(graph)).toEqual([["a", "b", "c"]]);
    expect(findCycles(graphOf({ a: ["b"], b: ["c"], c: [] }))).toEqual([]);
  });

  test("an ignored edge breaks its cycle", () => {
    const graph = graphOf({ a: ["b"], b: ["a"] });
    expect(findCycles(graph)).toEqual([["a", "b"]]);
    expect(findCycles(graph, new Set(["b -> a"]))).toEqual([]);
  });
});

describe("allowed dependencies", () => {
  test("an import the table does not list, and a folder it does not know, are problems", () => {
    const graph = graphOf({ low: [], high: ["low"], rogue: ["high"], unknown: [] });
    const problems = findViolations(graph, { low: [], high: ["low"], rogue: [] });
    expect(problems).toEqual([
      'rogue may not import high: src/rogue/x.ts imports "../high"',
      "src/unknown: not in the table of allowed dependencies (scripts/layers/allowed.ts)",
    ]);
  });

  test("src/ follows the table and has no cycle but the known ones", () => {
    const graph = readFolderGraph(join(import.meta.dir, "..", "..", "src"));
    expect(findViolations(graph, allowedDependencies)).toEqual([]);
    expect(findCycles(graph, knownCycleEdges)).toEqual([]);
  });
});
