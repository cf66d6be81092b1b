import { describe, expect, test } from "bun:test";
import { formatPaired, parseCommandsRun, parseQueriesRun, type RunMetrics } from "./paired-report";
import { median } from "./stats";

// Real reports, captured by paired.ts --keep from the renovation's pair (docs/benchmarks-archive.md): 2517895's
// bench still had the messaging floor's columns in its CPU table (empty with BENCH_FLOOR_ROW=0), 1e84624's not.
const sample = (name: string) => Bun.file(new URL(`./paired-samples/${name}`, import.meta.url)).text();

describe("parseCommandsRun", () => {
  test("reads the e2e row, the e2e CPU row by its header and the target ratios", async () => {
    const m = parseCommandsRun(await sample("commands-2517895.txt"));
    expect(m.get("e2e ops/s @1")).toBe(115);
    expect(m.get("e2e p50 ms @1")).toBe(5.41);
    expect(m.get("e2e ops/s @64")).toBe(157);
    expect(m.get("e2e p50 ms @64")).toBe(259.78);
    expect(m.get("e2e CPU ms/op, total @1")).toBe(5.351);
    expect(m.get("e2e CPU ms/op, worker @64")).toBe(0.329);
    // After three empty columns: read by the header, not by position.
    expect(m.get("e2e CPU ms/op, nats-server @64")).toBe(0.759);
    expect(m.get("e2e CPU ms/op, postgres @1")).toBe(0.888);
    expect(m.get("throughput @64: e2e ops/s / insert-txn ops/s")).toBe(0.13);
    expect(m.get("latency @1: e2e p50 / (echo p50 + insert p50)")).toBe(3.97);
  });

  test("leaves out the baselines' rows, empty cells and the cores columns", async () => {
    const m = parseCommandsRun(await sample("commands-2517895.txt"));
    const names = [...m.keys()];
    expect(names.some((n) => n.includes("floor") || n.includes("emmett") || n.includes("cores"))).toBe(false);
    expect([...m.values()]).not.toContain(1218); // the echo row's ops/s
    expect([...m.values()]).not.toContain(0.61); // ours, cores of the e2e row at c=1
    expect(m.size).toBe(22);
  });

  test("an older and a newer report give the same metrics, so every one is compared", async () => {
    const older = parseCommandsRun(await sample("commands-2517895.txt"));
    const newer = parseCommandsRun(await sample("commands-1e84624.txt"));
    expect([...newer.keys()]).toEqual([...older.keys()]);
    expect(newer.get("e2e CPU ms/op, nats-server @64")).toBe(0.725);
  });

  test("a report without its tables gives no metrics", () => {
    expect(parseCommandsRun("bench:commands failed: Error: too many clients").size).toBe(0);
  });
});

describe("parseQueriesRun", () => {
  test("reads every ratio line, the lag p99s, the hit rate and the query workloads' CPU", async () => {
    const m = parseQueriesRun(await sample("queries-1e84624.txt"));
    expect(m.get("cached @1: cached p50 / echo p50")).toBe(0.97);
    expect(m.get("uncached @16: uncached p50 / (echo p50 + pk select p50)")).toBe(3.34);
    expect(m.get("lag keyed @1k: p99")).toBe(2115.3);
    expect(m.get("lag keyed @10k: p99")).toBe(2240.4);
    expect(m.get("lag keyed growth: p99 @10k / p99 @1k")).toBe(1.06);
    expect(m.get("cache hit rate (zipf mix), %")).toBe(88.9);
    expect(m.get("cached CPU ms/op, gateway @1")).toBe(0.283);
    expect(m.get("uncached CPU ms/op, postgres @16")).toBe(0.103);
    // The baselines' CPU rows and the machine's cores are not compared.
    expect(
      [...m.keys()].some((n) => n.startsWith("echo") || n.startsWith("pk-select") || n.includes("cores")),
    ).toBe(false);
    expect(m.size).toBe(24);
  });

  test("an expression inside parentheses is named without the line's text before them", () => {
    const m = parseQueriesRun(
      "strong read @1: p50 1.20 ms, p99 3.00 ms, 700 ops/s vs the view read p50 0.60 ms " +
        "(strong p50 / view p50 = 2.00; no target, for reference)",
    );
    expect([...m]).toEqual([["strong read @1: strong p50 / view p50", 2]]);
  });
});

describe("formatPaired", () => {
  const run = (entries: [string, number][]): RunMetrics => new Map(entries);

  test("medians of each ref, the ratio of the medians and the range of the pairs' ratios", () => {
    const table = formatPaired({
      a: [run([["ops", 100]]), run([["ops", 200]]), run([["ops", 300]])],
      b: [run([["ops", 110]]), run([["ops", 180]]), run([["ops", 330]])],
    });
    expect(table.split("\n")[2]).toBe(
      "| ops | 200 (100–300) | 180 (110–330) | 0.900 | 1.10 (0.900–1.10) | 2/3 |",
    );
  });

  test("a metric one ref lacks shows n/a; one that is 0 in every run is left out", () => {
    const table = formatPaired({
      a: [run([["idle", 0]])],
      b: [
        run([
          ["idle", 0],
          ["new", 5],
        ]),
      ],
    });
    const rows = table.split("\n").slice(2);
    expect(rows).toEqual(["| new | n/a | 5.00 | n/a | n/a | n/a |"]);
  });
});

test("median: the middle value, or the mean of the two middle ones", () => {
  expect(median([3, 1, 2])).toBe(2);
  expect(median([4, 1, 3, 2])).toBe(2.5);
  expect(Number.isNaN(median([]))).toBe(true);
});
