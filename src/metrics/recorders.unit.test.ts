import { describe, expect, test } from "bun:test";
import { AppError } from "../errors";
import { timeExecution } from "./commands";
import { createMetrics } from "./create-metrics";
import { scrape } from "./metrics.testkit";
import { findSamples } from "./parse-exposition";

const fresh = () => createMetrics({ role: "test", defaultMetrics: false });

describe("command recorders", () => {
  test("observe records the gateway duration and counts non-ok outcomes as failures", async () => {
    const m = fresh();
    m.commands.observe("CreateUser", "ok", 0.002);
    m.commands.observe("CreateUser", "ALREADY_EXISTS", 0.003);
    m.commands.observe("CreateUser", "INTERNAL", 0.004);
    const e = await scrape(m);
    expect(
      findSamples(e, "clone_command_duration_seconds_count", { command_type: "CreateUser" }),
    ).toHaveLength(3);
    expect(findSamples(e, "clone_command_failures_total").map((s) => [s.labels.code, s.value])).toEqual([
      ["ALREADY_EXISTS", 1],
      ["INTERNAL", 1],
    ]);
  });

  test("timeExecution times each envelope into the execution histogram, by outcome", async () => {
    const m = fresh();
    const handler = timeExecution(async (envelope: { commandType: string; fail?: boolean }) => {
      await Bun.sleep(10);
      if (envelope.fail) throw new Error("connection lost");
      return envelope.commandType === "EndConversation"
        ? ({ ok: false, error: { code: "FAILED_PRECONDITION" } } as const)
        : ({ ok: true } as const);
    }, m.commands.observeExecution);
    expect(await handler({ commandType: "CreateUser" })).toEqual({ ok: true });
    expect(await handler({ commandType: "EndConversation" })).toEqual({
      ok: false,
      error: { code: "FAILED_PRECONDITION" },
    });
    await expect(handler({ commandType: "CreateUser", fail: true })).rejects.toThrow("connection lost");
    const e = await scrape(m);
    const counts = findSamples(e, "clone_command_execution_seconds_count").map((s) => [
      s.labels.command_type,
      s.labels.outcome,
      s.value,
    ]);
    expect(counts).toEqual([
      ["CreateUser", "ok", 1],
      ["EndConversation", "FAILED_PRECONDITION", 1],
      ["CreateUser", "INTERNAL", 1],
    ]);
    const sum = findSamples(e, "clone_command_execution_seconds_sum", { outcome: "ok" })[0]?.value ?? 0;
    expect(sum).toBeGreaterThanOrEqual(0.008);
    // Execution is not the gateway's end-to-end view: no failures counted here.
    expect(findSamples(e, "clone_command_failures_total")).toEqual([]);
  });

  test("observeExecution takes seconds measured elsewhere (a command thread)", async () => {
    const m = fresh();
    m.commands.observeExecution("UploadDocument", "ok", 0.0007);
    const e = await scrape(m);
    expect(findSamples(e, "clone_command_execution_seconds_bucket", { le: "0.0005" })[0]?.value).toBe(0);
    expect(findSamples(e, "clone_command_execution_seconds_bucket", { le: "0.001" })[0]?.value).toBe(1);
  });
});

describe("query recorders", () => {
  test("observe, cacheHit and cacheMiss have the signatures of the query bus and cache options", async () => {
    const m = fresh();
    const observe: (queryType: "GetUserProfile", fromCache: boolean, seconds: number) => void =
      m.queries.observe;
    observe("GetUserProfile", true, 0.0004);
    observe("GetUserProfile", false, 0.02);
    m.queries.cacheHit("k1", "GetUserProfile");
    m.queries.cacheHit("k1", "GetUserProfile");
    m.queries.cacheMiss("k2", undefined);
    const e = await scrape(m);
    expect(
      findSamples(e, "clone_query_duration_seconds_count").map((s) => [s.labels.query_type, s.labels.cache]),
    ).toEqual([
      ["GetUserProfile", "hit"],
      ["GetUserProfile", "miss"],
    ]);
    expect(findSamples(e, "clone_query_cache_hits_total")[0]).toMatchObject({
      labels: { query_type: "GetUserProfile" },
      value: 2,
    });
    expect(findSamples(e, "clone_query_cache_misses_total")[0]).toMatchObject({
      labels: { query_type: "unknown" },
      value: 1,
    });
  });
});

describe("view recorders", () => {
  test("refreshed records a keyed refresh, its rows and the lag of each event of the task", async () => {
    const m = fresh();
    const now = Date.now();
    m.views.refreshed(
      { view: "user_profile_view", upserted: 2, deleted: 1, seconds: 0.003 },
      {
        view: "user_profile_view",
        committedAt: [new Date(now - 40).toISOString(), new Date(now - 12_000).toISOString()],
      },
    );
    const e = await scrape(m);
    expect(
      findSamples(e, "clone_view_refresh_duration_seconds_count", {
        view: "user_profile_view",
        mode: "keyed",
      })[0]?.value,
    ).toBe(1);
    expect(findSamples(e, "clone_view_refresh_rows_total", { view: "user_profile_view" })[0]?.value).toBe(3);
    const lag = (le: string) =>
      findSamples(e, "clone_consistency_lag_seconds_bucket", { view: "user_profile_view", le })[0]?.value;
    expect(lag("0.025")).toBe(0);
    expect(lag("0.1")).toBe(1);
    expect(lag("10")).toBe(1);
    expect(lag("15")).toBe(2);
  });

  test("observeLag clamps a lag below zero (clock skew) to zero and skips unreadable times", async () => {
    const m = fresh();
    m.views.observeLag("document_summary_view", [Date.now() + 5_000, "not a date"]);
    const e = await scrape(m);
    expect(findSamples(e, "clone_consistency_lag_seconds_count")[0]?.value).toBe(1);
    expect(findSamples(e, "clone_consistency_lag_seconds_sum")[0]?.value).toBe(0);
  });

  test("failure counters start at 0 for every view and mode, and count failures", async () => {
    const m = fresh();
    let e = await scrape(m);
    expect(findSamples(e, "clone_view_refresh_failures_total")).toHaveLength(12);
    expect(findSamples(e, "clone_view_refresh_failures_total").every((s) => s.value === 0)).toBe(true);
    m.views.refreshFailed({ view: "user_statistics_view", committedAt: [] }, new Error("deadlock"));
    m.views.observeRefreshFailure("user_statistics_view", "full");
    m.views.observeRefresh("user_statistics_view", "full", 12, 5000);
    e = await scrape(m);
    const failures = (mode: string) =>
      findSamples(e, "clone_view_refresh_failures_total", { view: "user_statistics_view", mode })[0]?.value;
    expect(failures("keyed")).toBe(1);
    expect(failures("full")).toBe(1);
    expect(findSamples(e, "clone_view_refresh_rows_total")[0]?.value).toBe(5000);
  });
});

describe("event and outbox recorders", () => {
  test("instrument times each event by consumer and type, and counts rejections", async () => {
    const m = fresh();
    const handler = m.events.instrument("document-processor", async (event: { type: string }) => {
      if (event.type === "document.broken") throw new AppError("INTERNAL", "cannot extract");
    });
    await handler({ type: "document.uploaded" });
    await expect(handler({ type: "document.broken" })).rejects.toThrow("cannot extract");
    const e = await scrape(m);
    expect(
      findSamples(e, "clone_event_processing_seconds_count", { consumer: "document-processor" }).map(
        (s) => s.labels.event_type,
      ),
    ).toEqual(["document.uploaded", "document.broken"]);
    expect(findSamples(e, "clone_event_processing_failures_total")).toEqual([
      expect.objectContaining({
        labels: expect.objectContaining({ event_type: "document.broken" }),
        value: 1,
      }),
    ]);
  });

  test("published counts events by type and observes how long they waited in the outbox", async () => {
    const m = fresh();
    const committedAt = new Date(Date.now() - 300).toISOString();
    m.outbox.published([
      { type: "user.created", committedAt },
      { type: "user.created", committedAt },
      { type: "document.uploaded", committedAt },
    ]);
    const e = await scrape(m);
    expect(findSamples(e, "clone_outbox_published_total").map((s) => [s.labels.event_type, s.value])).toEqual(
      [
        ["user.created", 2],
        ["document.uploaded", 1],
      ],
    );
    expect(findSamples(e, "clone_outbox_publish_delay_seconds_count")[0]?.value).toBe(3);
    expect(findSamples(e, "clone_outbox_publish_delay_seconds_bucket", { le: "0.25" })[0]?.value).toBe(0);
    expect(findSamples(e, "clone_outbox_publish_delay_seconds_bucket", { le: "0.5" })[0]?.value).toBe(3);
  });
});
