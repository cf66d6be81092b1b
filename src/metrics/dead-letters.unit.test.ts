import { describe, expect, test } from "bun:test";
import { createMetrics } from "./create-metrics";
import type { BacklogDatabase } from "./outbox";
import { findSamples, parseExposition } from "./parse-exposition";

/** A database whose dead_letters hold `counts` (or whose count never answers when undefined). */
function deadLetterDatabase(counts: Record<string, number> | undefined): BacklogDatabase {
  return {
    async connect() {
      return {
        async query(text: string) {
          if (!text.startsWith("SELECT")) return { rows: [] };
          if (counts === undefined) await new Promise<never>(() => {});
          return { rows: Object.entries(counts ?? {}).map(([source, n]) => ({ source, n: String(n) })) };
        },
        release() {},
      };
    },
  };
}

describe("clone_dead_letters", () => {
  test("counts the dead letters by source at each scrape, 0 for sources with none", async () => {
    const metrics = createMetrics({ role: "test", defaultMetrics: false });
    const before = parseExposition(await metrics.registry.metrics());
    expect(findSamples(before, "clone_dead_letters")).toHaveLength(0);
    metrics.deadLetters.trackDeadLetters(deadLetterDatabase({ "document-processor": 3, command: 1 }));
    const e = parseExposition(await metrics.registry.metrics());
    const bySource = Object.fromEntries(
      findSamples(e, "clone_dead_letters").map((s) => [s.labels.source, s.value]),
    );
    expect(bySource).toEqual({ "document-processor": 3, command: 1, consistency: 0, "user-erasure": 0 });
  });

  test("a count that does not answer reports NaN and counts a collect failure", async () => {
    const metrics = createMetrics({ role: "test", defaultMetrics: false });
    metrics.deadLetters.trackDeadLetters(deadLetterDatabase(undefined), { timeoutMs: 20 });
    const e = parseExposition(await metrics.registry.metrics());
    expect(findSamples(e, "clone_dead_letters", { source: "command" })[0]?.value).toBeNaN();
    const failures = parseExposition(await metrics.registry.metrics());
    expect(
      findSamples(failures, "clone_metrics_collect_failures_total", { collector: "clone_dead_letters" })[0]
        ?.value,
    ).toBeGreaterThanOrEqual(1);
  });
});
