/**
 * The recorders fit the hooks of the modules they measure as they are, so wiring is passing them: checked by
 * the compiler here (each assignment fails to type-check if a hook's signature drifts), and run once.
 */
import { describe, expect, test } from "bun:test";
import type { ConsistencyServiceOptions } from "../consistency/consistency-service";
import type { CommandHandler } from "../contracts";
import type { EventHandler } from "../events";
import type { Interceptor } from "../gateway/handler";
import type { MetricsSource } from "../http/server";
import type { OutboxRelayOptions } from "../outbox/relay";
import type { QueryCacheOptions } from "../queries/cache/types";
import type { QueryBusOptions } from "../queries/query-bus";
import { timeExecution } from "./commands";
import { createMetrics } from "./create-metrics";
import { findSamples, parseExposition } from "./parse-exposition";
import { metricsInterceptor } from "./rpc";

describe("wiring", () => {
  test("each recorder has the signature of the hook it goes into", async () => {
    const metrics = createMetrics({ role: "test", defaultMetrics: false });
    const interceptor: Interceptor = metricsInterceptor(metrics);
    const observe: NonNullable<QueryBusOptions["observe"]> = metrics.queries.observe;
    const onHit: NonNullable<QueryCacheOptions<unknown>["onHit"]> = metrics.queries.cacheHit;
    const onMiss: NonNullable<QueryCacheOptions<unknown>["onMiss"]> = metrics.queries.cacheMiss;
    const onRefreshed: NonNullable<ConsistencyServiceOptions["onRefreshed"]> = metrics.views.refreshed;
    const onRefreshFailed: NonNullable<ConsistencyServiceOptions["onRefreshFailed"]> =
      metrics.views.refreshFailed;
    const onPublished: NonNullable<OutboxRelayOptions["onPublished"]> = metrics.outbox.published;
    const source: MetricsSource = metrics.render;
    const handler: CommandHandler = timeExecution<
      Parameters<CommandHandler>[0],
      Awaited<ReturnType<CommandHandler>>
    >(
      async () => ({ ok: false, error: { name: "AppError", code: "NOT_FOUND", message: "no such user" } }),
      metrics.commands.observeExecution,
    );
    const eventHandler: EventHandler = metrics.events.instrument("document-processor", async () => {});
    expect([
      interceptor,
      observe,
      onHit,
      onMiss,
      onRefreshed,
      onRefreshFailed,
      onPublished,
      handler,
    ]).toHaveLength(8);

    onPublished([]);
    observe("GetUserProfile", true, 0.001);
    await eventHandler({ type: "user.created" } as Parameters<EventHandler>[0]);
    const rendered = await source();
    expect(rendered.contentType).toBe(metrics.registry.contentType);
    const e = parseExposition(rendered.body);
    expect(findSamples(e, "clone_query_duration_seconds_count", { cache: "hit" })[0]?.value).toBe(1);
    expect(findSamples(e, "clone_event_processing_seconds_count")[0]?.labels.consumer).toBe(
      "document-processor",
    );
  });
});
