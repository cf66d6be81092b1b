/**
 * The folder graph of `src/`: which top-level folder imports which (a file directly under `src/` counts as a
 * folder of its own, named without `.ts`), the checks against the allowed dependencies, and the cycles.
 * Type-only imports count: a type shared across processes belongs in a module both may import.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

/** One import of another folder: the importing file (relative to src/) and what it wrote. */
export interface ImportSite {
  readonly file: string;
  readonly specifier: string;
}

/** folder -> imported folder -> where. */
export type FolderGraph = Map<string, Map<string, ImportSite[]>>;

/**
 * Test code, which may import whatever it tests and is not checked: the tests (`*.test.ts`), the helpers of
 * one folder's tests, beside them (`*.testkit.ts`), and the shared fixtures in `src/testing/`.
 */
export function isTestCode(file: string): boolean {
  return /\.test\.ts$|\.testkit\.ts$/.test(file) || file.startsWith("testing/");
}

const IMPORT =
  /(?:^|[\n;])\s*(?:import|export)\s+(?:type\s+)?(?:[\w*{}\s,$]+?\s+from\s+)?["']([^"']+)["']|\bimport\(\s*["']([^"']+)["']\s*\)/g;

/** The module specifiers a source text imports or re-exports (static, side-effect and dynamic imports). */
export function importsOf(text: string): string[] {
  return [...text.matchAll(IMPORT)].map((m) => (m[1] ?? m[2]) as string);
}

/** The folder of a path relative to src/: its first segment, or the file's name without `.ts`. */
export function folderOf(path: string): string {
  const [first, ...rest] = path.split("/");
  return rest.length === 0 ? (first as string).replace(/\.ts$/, "") : (first as string);
}

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return tsFiles(path);
    return path.endsWith(".ts") ? [path] : [];
  });
}

/** Reads `srcDir` and builds its folder graph from the product code (test code left out, see {@link isTestCode}). */
export function readFolderGraph(srcDir: string): FolderGraph {
  const src = resolve(srcDir);
  const graph: FolderGraph = new Map();
  for (const path of tsFiles(src)) {
    const file = relative(src, path);
    if (isTestCode(file)) continue;
    const from = folderOf(file);
    if (!graph.has(from)) graph.set(from, new Map());
    for (const specifier of importsOf(readFileSync(path, "utf8"))) {
      if (!specifier.startsWith(".")) continue;
      const target = relative(src, resolve(dirname(path), specifier));
      if (target.startsWith("..")) continue;
      const to = folderOf(isDirectory(join(src, target)) ? `${target}/index.ts` : target);
      if (to === from) continue;
      const edges = graph.get(from) as Map<string, ImportSite[]>;
      const sites = edges.get(to) ?? [];
      sites.push({ file, specifier });
      edges.set(to, sites);
    }
  }
  return graph;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/**
 * The folder cycles: strongly connected components of more than one folder (Tarjan), each sorted, after
 * removing the `ignored` edges (`"from -> to"`).
 */
export function findCycles(graph: FolderGraph, ignored: ReadonlySet<string> = new Set()): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  let next = 0;
  const successors = (v: string) =>
    [...(graph.get(v)?.keys() ?? [])].filter((w) => !ignored.has(`${v} -> ${w}`));
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of successors(v)) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) as number, low.get(w) as number));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v) as number, index.get(w) as number));
      }
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop() as string;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1) cycles.push(component.sort());
    }
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) visit(v);
  return cycles;
}

/** The imports that break `allowed` (folder -> the folders it may import), and folders it does not list. */
export function findViolations(
  graph: FolderGraph,
  allowed: Readonly<Record<string, readonly string[]>>,
): string[] {
  const problems: string[] = [];
  for (const [from, edges] of [...graph].sort(([a], [b]) => a.localeCompare(b))) {
    const may = allowed[from];
    if (may === undefined) {
      problems.push(`src/${from}: not in the table of allowed dependencies (scripts/layers/allowed.ts)`);
      continue;
    }
    for (const [to, sites] of [...edges].sort(([a], [b]) => a.localeCompare(b))) {
      if (may.includes(to)) continue;
      const where = [...new Set(sites.map((s) => `src/${s.file} imports "${s.specifier}"`))];
      const shown = where.length > 4 ? [...where.slice(0, 4), `${where.length - 4} more`] : where;
      problems.push(`${from} may not import ${to}: ${shown.join("; ")}`);
    }
  }
  return problems;
}
