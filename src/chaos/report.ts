/**
 * The suite's table: one row per scenario, each correctness check pass/FAIL, each recovery time against its
 * target, and below it the details of what failed.
 */
import { checkNames } from "./checks";
import { type Measure, withinTarget } from "./recovery";
import type { ScenarioResult } from "./runner";

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)}s`;

/** `0.8s ok`, `3.2s >2.0s` or `never >2.0s`; `-` when the measure does not apply. */
export function formatMeasure(m: Measure | undefined): string {
  if (m === undefined) return "-";
  const value = m.ms === undefined ? "never" : seconds(m.ms);
  return withinTarget(m) ? `${value} ok` : `${value} >${seconds(m.targetMs)}`;
}

const measureColumns = [
  ["1st cmd", (r: ScenarioResult) => r.recovery.firstCommand],
  ["all lanes", (r: ScenarioResult) => r.recovery.allLanes],
  ["read caught up", (r: ScenarioResult) => r.recovery.readCaughtUp],
  ["read lag max", (r: ScenarioResult) => r.recovery.readLagMax],
  ["health down", (r: ScenarioResult) => r.recovery.healthDown],
  ["health up/gap", (r: ScenarioResult) => r.recovery.healthUp],
  ["doc processed", (r: ScenarioResult) => r.recovery.documentProcessed],
] as const;

function unackedCodes(r: ScenarioResult): string {
  const codes = Object.entries(r.commands.unackedCodes);
  return codes.length === 0 ? "" : ` (${codes.map(([code, n]) => `${code}×${n}`).join(", ")})`;
}

/** The table (Markdown), followed by the failure details. */
export function formatReport(results: readonly ScenarioResult[]): string {
  const header = ["scenario", ...checkNames, ...measureColumns.map(([n]) => n), "commands"];
  const rows = results.map((r) => [
    r.name,
    ...checkNames.map((c) => (r.checks[c].ok ? "pass" : "FAIL")),
    ...measureColumns.map(([, pick]) => formatMeasure(pick(r))),
    `${r.commands.acked} ok, ${r.commands.retried} retried, ${r.commands.unacked} not acked${unackedCodes(r)}`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] as string).length)));
  const line = (cells: readonly string[]) =>
    `| ${cells.map((c, i) => c.padEnd(widths[i] as number)).join(" | ")} |`;
  const table = [line(header), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...rows.map(line)];
  const details = results.flatMap((r) => [
    ...checkNames.filter((c) => !r.checks[c].ok).map((c) => `- ${r.name} / ${c}: ${r.checks[c].detail}`),
    ...measureColumns
      .map(([name, pick]) => [name, pick(r)] as const)
      .filter(([, m]) => m?.worst !== undefined && !withinTarget(m))
      .map(([name, m]) => `- ${r.name} / ${name}: slowest ${m?.worst}`),
    ...(r.quietMs === undefined ? [`- ${r.name}: not quiet within the limit after the load stopped`] : []),
  ]);
  return [
    ...table,
    "",
    "Targets: 1st cmd and all lanes within 2 s of the dependency answering (for a killed role: of the kill);",
    "read caught up within 2 s of the 1st cmd, and no later command waits more than 2 s for the read side (read",
    "lag max); health (each gateway's grpc.health.v1 and every process's /readyz, the slowest counts) NOT_SERVING",
    "within 1 s of the fault and SERVING within 1 s of the dependency answering (killed roles and a hung backend:",
    "the longest NOT_SERVING gap, at most 1 s); a document uploaded once the fault ended PROCESSED within 3 s (doc",
    "processed). Times are sampled every 100 ms.",
    ...(details.length > 0 ? ["", "Failures:", ...details] : []),
  ].join("\n");
}

/** True when every correctness check of every scenario passed. */
export function allCorrect(results: readonly ScenarioResult[]): boolean {
  return results.every((r) => checkNames.every((c) => r.checks[c].ok));
}
