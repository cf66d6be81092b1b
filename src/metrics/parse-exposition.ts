/**
 * A small parser of the Prometheus text exposition format (version 0.0.4), for tests that scrape `/metrics`
 * and for checking what a process exposes. Samples only (with `# TYPE` and `# HELP` kept by metric family);
 * timestamps and exemplars are not used here.
 */

/** One sample line: `name{labels} value`. */
export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** A parsed exposition: the samples in order, and the declared type and help of each family. */
export interface Exposition {
  readonly samples: readonly Sample[];
  readonly types: ReadonlyMap<string, string>;
  readonly help: ReadonlyMap<string, string>;
}

const sampleLine = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\S+)?$/;
const labelPair = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?\s*/y;

/**
 * Parses exposition text.
 * @throws Error naming the first line that is not a comment, a blank or a sample.
 */
export function parseExposition(text: string): Exposition {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  const help = new Map<string, string>();
  for (const [index, line] of text.split("\n").entries()) {
    if (line.trim() === "") continue;
    if (line.startsWith("#")) {
      const m = /^# (TYPE|HELP) (\S+) ?(.*)$/.exec(line);
      if (m?.[1] === "TYPE") types.set(m[2] ?? "", m[3] ?? "");
      if (m?.[1] === "HELP") help.set(m[2] ?? "", m[3] ?? "");
      continue;
    }
    const m = sampleLine.exec(line);
    if (!m) throw new Error(`line ${index + 1} is not a sample: ${line}`);
    samples.push({
      name: m[1] ?? "",
      labels: parseLabels(m[2] ?? "", index + 1),
      value: parseValue(m[3] ?? ""),
    });
  }
  return { samples, types, help };
}

function parseLabels(text: string, line: number): Record<string, string> {
  const labels: Record<string, string> = {};
  labelPair.lastIndex = 0;
  while (labelPair.lastIndex < text.length) {
    const at = labelPair.lastIndex;
    const m = labelPair.exec(text);
    if (!m) throw new Error(`line ${line}: bad labels at ${at}: ${text}`);
    labels[m[1] ?? ""] = (m[2] ?? "").replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c));
  }
  return labels;
}

function parseValue(text: string): number {
  // As Prometheus (Go's ParseFloat) reads them: prom-client writes NaN as `Nan`.
  const lower = text.toLowerCase();
  if (lower === "+inf" || lower === "inf") return Number.POSITIVE_INFINITY;
  if (lower === "-inf") return Number.NEGATIVE_INFINITY;
  if (lower === "nan") return Number.NaN;
  const value = Number(text);
  if (Number.isNaN(value)) throw new Error(`not a sample value: ${text}`);
  return value;
}

/** The samples named `name` whose labels include `labels`. */
export function findSamples(
  exposition: Exposition,
  name: string,
  labels: Readonly<Record<string, string>> = {},
): Sample[] {
  return exposition.samples.filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
}
