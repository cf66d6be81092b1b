/** Plain-text tables and the progress bar of the admin CLI. */

/** A table with a header row; numbers are right-aligned, everything else left-aligned. */
export function formatTable(
  headers: readonly string[],
  rows: readonly (readonly (string | number)[])[],
): string {
  const cells = [headers, ...rows.map((r) => r.map(String))];
  // A column of numbers (with "-" for none and ">=N" for a lower bound) is right-aligned.
  const numeric = headers.map(
    (_, c) =>
      rows.some((r) => typeof r[c] === "number") &&
      rows.every((r) => typeof r[c] === "number" || /^(-|>=\d+)$/.test(String(r[c]))),
  );
  const widths = headers.map((_, c) => Math.max(...cells.map((r) => (r[c] ?? "").length)));
  const line = (r: readonly string[]) =>
    r
      .map((cell, c) => (numeric[c] ? cell.padStart(widths[c] ?? 0) : cell.padEnd(widths[c] ?? 0)))
      .join("  ")
      .trimEnd();
  return [line(headers), line(widths.map((w) => "-".repeat(w))), ...cells.slice(1).map(line)].join("\n");
}

/** `[####------] 3/6 user_statistics_view 1.2s`: `done` of `total` finished; `seconds` so far. */
export function progressBar(done: number, total: number, label: string, seconds: number, width = 10): string {
  const filled = total === 0 ? width : Math.round((done / total) * width);
  return `[${"#".repeat(filled)}${"-".repeat(width - filled)}] ${done}/${total} ${label} ${seconds.toFixed(1)}s`;
}
