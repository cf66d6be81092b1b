/**
 * What the application image needs and gets: the modules the entry points load (followed through their
 * imports), the npm packages those import, the files the Dockerfile copies and the ones .dockerignore lets
 * into the build context.
 */

import { existsSync, readdirSync } from "node:fs";
import { builtinModules } from "node:module";
import { dirname, join, relative } from "node:path";

/** What the image runs: every role, the migrations, the admin CLI, and the thread entry points. */
export function entryPoints(root: string): string[] {
  const workers = readdirSync(join(root, "workers"))
    .filter((f) => f.endsWith(".ts") && !f.includes(".test."))
    .map((f) => `workers/${f}`);
  return ["src/main.ts", "src/db/migrate-cli.ts", "src/cli/main.ts", ...workers];
}

const transpiler = new Bun.Transpiler({ loader: "ts" });
const builtins = new Set(builtinModules);

function resolveRelative(from: string, specifier: string, root: string): string | undefined {
  const base = join(dirname(join(root, from)), specifier);
  for (const candidate of [base, `${base}.ts`, join(base, "index.ts")]) {
    if (existsSync(candidate) && candidate.endsWith(".ts")) return relative(root, candidate);
  }
  return undefined;
}

/** The package a bare specifier names (`@scope/name/sub` -> `@scope/name`); undefined for a builtin. */
export function packageOf(specifier: string): string | undefined {
  if (specifier.startsWith("node:") || specifier === "bun" || specifier.startsWith("bun:")) return undefined;
  const parts = specifier.split("/");
  const name = specifier.startsWith("@") ? parts.slice(0, 2).join("/") : (parts[0] as string);
  return builtins.has(name) ? undefined : name;
}

/** Every module the entry points load (repository paths) and the packages they import. */
export async function runtimeClosure(root: string, entries = entryPoints(root)) {
  const files = new Set<string>();
  const packages = new Map<string, string>();
  const todo = [...entries];
  while (todo.length > 0) {
    const file = todo.pop() as string;
    if (files.has(file)) continue;
    files.add(file);
    const source = await Bun.file(join(root, file)).text();
    for (const { path } of transpiler.scanImports(source)) {
      if (path.startsWith(".")) {
        const target = resolveRelative(file, path, root);
        if (target === undefined) throw new Error(`${file}: cannot resolve ${path}`);
        todo.push(target);
      } else {
        const name = packageOf(path);
        if (name !== undefined && !packages.has(name)) packages.set(name, file);
      }
    }
  }
  return { files: [...files].sort(), packages };
}

/** The instructions of a Dockerfile (continuation lines joined, comments dropped). */
export function dockerfileInstructions(text: string): { op: string; args: string }[] {
  const joined = text.replace(/\\\n/g, " ");
  return joined
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"))
    .map((l) => {
      const [op = "", ...rest] = l.split(/\s+/);
      return { op: op.toUpperCase(), args: rest.join(" ") };
    });
}

/**
 * True when `.dockerignore` patterns leave `path` in the build context. As Docker does: the last pattern
 * that matches the path or one of its parent directories decides; `!` re-includes.
 */
export function inBuildContext(patterns: readonly string[], path: string): boolean {
  const parts = path.split("/");
  const prefixes = parts.map((_, i) => parts.slice(0, i + 1).join("/"));
  let included = true;
  for (const raw of patterns) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const negate = line.startsWith("!");
    const pattern = (negate ? line.slice(1) : line).replace(/^\/+/, "").replace(/\/+$/, "");
    const glob = new Bun.Glob(pattern);
    if (prefixes.some((p) => glob.match(p))) included = negate;
  }
  return included;
}
