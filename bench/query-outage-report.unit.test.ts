import { describe, expect, test } from "bun:test";
import { AnswerSource } from "../src/gen/clone/v1/enums_pb";
import { answerText } from "./query-outage";
import {
  formatOutage,
  formatOutageVerdicts,
  formatStrongLines,
  type OutageResult,
  type OutageRow,
  writeModelShare,
} from "./query-outage-report";
import type { LatencyCell, LatencyResults } from "./query-report";
import type { Summary } from "./stats";

const summary = (p99Ms: number, errors = 0): Summary => ({ opsPerSecond: 800, p50Ms: 5, p99Ms, errors });

const row = (over: Partial<OutageRow> = {}): OutageRow => ({
  gateway: "the deployment's gateway",
  bound: 4,
  summary: summary(40),
  errorSamples: [],
  sources: new Map([[AnswerSource.WRITE_MODEL, 1000]]),
  p99ByRead: new Map([
    ["getUserProfile", 12.34],
    ["searchDocuments", 80],
  ]),
  comparison: { samples: 50, equal: 50, differences: [] },
  ...over,
});

const result = (rows: OutageRow[], changed = { samples: 20, equal: 20, differences: [] }): OutageResult => ({
  rows,
  changed,
  concurrency: 16,
  windowMs: 6000,
  users: 2000,
});

describe("outage verdicts", () => {
  test("all from the write model, fast, equal: PASS", () => {
    const line = formatOutageVerdicts(result([row()]));
    expect(line).toContain("READ_FALLBACK_CONCURRENCY 4");
    expect(line).toContain("100.0% from the write model");
    expect(line).toEndWith("PASS");
  });

  test("answers beyond the bound from the views: FAIL naming the share", () => {
    const r = row({
      sources: new Map([
        [AnswerSource.WRITE_MODEL, 300],
        [AnswerSource.VIEW, 600],
        [AnswerSource.CACHE, 100],
      ]),
    });
    expect(writeModelShare(r)).toBeCloseTo(0.3);
    expect(formatOutageVerdicts(result([r]))).toEndWith("FAIL (70.0% not from the write model)");
  });

  test("a slow p99, errors and unequal samples each fail", () => {
    const r = row({
      summary: summary(140, 2),
      comparison: { samples: 50, equal: 49, differences: ["getUserProfile {}"] },
    });
    expect(formatOutageVerdicts(result([r]))).toEndWith(
      "FAIL (p99, 2 errors, sampled answers differ from the views')",
    );
    expect(formatOutageVerdicts(result([row()], { samples: 20, equal: 19, differences: [] }))).toEndWith(
      "FAIL (changed profiles differ)",
    );
    expect(
      formatOutageVerdicts(result([row({ comparison: { samples: 0, equal: 0, differences: [] } })])),
    ).toEndWith("FAIL (sampled answers differ from the views')");
  });

  test("no answers at all: n/a, one line per gateway", () => {
    const lines = formatOutageVerdicts(result([row({ sources: new Map() }), row({ bound: 16 })])).split("\n");
    expect(lines).toHaveLength(2);
    expect(lines[0]).toEndWith("n/a");
    expect(lines[1]).toContain("READ_FALLBACK_CONCURRENCY 16");
  });

  test("the table has a row per gateway with its sources and comparison", () => {
    const text = formatOutage(
      result([
        row({
          sources: new Map([
            [AnswerSource.WRITE_MODEL, 3],
            [AnswerSource.VIEW, 1],
          ]),
        }),
      ]),
    );
    expect(text).toContain(
      "| the deployment's gateway | 4 | 800 | 5.00 | 40.00 | 75.0% | 1 / 0 | 0 | 50 / 50 |",
    );
    expect(text).toContain("20 / 20 write-model answers equal");
    expect(text).toContain(
      "p99 ms by read, the deployment's gateway: getUserProfile 12.3, searchDocuments 80.0",
    );
  });
});

describe("strong read lines", () => {
  const cell = (p50Ms: number): LatencyCell => ({
    summary: { opsPerSecond: 1000 / p50Ms, p50Ms, p99Ms: p50Ms * 3, errors: 0 },
    load: { completedInWindow: 0, windowMs: 0, errors: 0, errorSamples: [], latenciesMs: new Float64Array() },
  });

  test("the strong read beside the view read, with their ratio", () => {
    const latency: LatencyResults = new Map([
      [
        1,
        new Map([
          ["uncached", cell(1)],
          ["strong", cell(1.5)],
        ]),
      ],
      [16, new Map([["uncached", cell(2)]])],
    ]);
    const text = formatStrongLines(latency);
    expect(text.split("\n")).toHaveLength(1);
    expect(text).toContain(
      "strong read @1: p50 1.50 ms, p99 4.50 ms, 667 ops/s vs the view read p50 1.00 ms",
    );
    expect(text).toContain("strong p50 / view p50 = 1.50");
  });
});

describe("answerText", () => {
  test("ignores meta, keeps bigints, tells payloads apart", () => {
    const a = answerText({ meta: { fromCache: true }, version: 3n, name: "a" });
    expect(a).toBe(answerText({ meta: { fromCache: false }, version: 3n, name: "a" }));
    expect(a).not.toBe(answerText({ version: 4n, name: "a" }));
  });
});
