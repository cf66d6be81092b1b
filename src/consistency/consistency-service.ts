/**
 * The consistency service: the ordered event feed into the coordinator, refreshes on the worker pool,
 * updates broadcast to the gateways, the checkpoint kept in Postgres, and a heartbeat saying up to when the
 * views are complete (now while caught up; the commit time of the oldest unapplied event while busy).
 * Transport-neutral: the JetStream role and the embedded mode give it their feed, pool and broadcast.
 */

import type pg from "pg";
import { describeError, recordDeadLetter, startDeadLetterRetrier } from "../dead-letters";
import type { Logger } from "../logging";
import {
  type CacheInvalidation,
  listViewBuilds,
  type QueryType,
  refreshFull,
  runViewBuild,
  viewNames,
} from "../read-models";
import type { RefreshResult } from "./apply-refresh";
import { createCaughtUpClock } from "./caught-up-clock";
import { readCheckpoint, writeCheckpoint } from "./checkpoint";
import { type ConsistencyUpdate, createCoordinator, type RefreshTask } from "./coordinator";
import type { EventFeed, FeedHandler, StreamBounds } from "./event-feed";
import { refreshKeyOf } from "./isolate-refresh";
import {
  createRateMeter,
  type PassResult,
  type ReconcilerOptions,
  type ReconcileSettings,
  startReconciler,
} from "./reconcile";

/** Options of {@link startConsistencyService}. */
export interface ConsistencyServiceOptions {
  readonly db: pg.Pool;
  readonly runRefresh: (task: RefreshTask) => Promise<RefreshResult>;
  readonly startFeed: (afterSeq: number, onEvent: FeedHandler) => Promise<EventFeed>;
  /** The stream's bounds (to detect a checkpoint the stream no longer covers); absent: always rebuild at start. */
  readonly bounds?: () => Promise<StreamBounds>;
  readonly publish: (update: ConsistencyUpdate, caughtUpAt?: number) => void;
  readonly heartbeatMs?: number;
  readonly log?: Logger;
  /** After each committed refresh (metrics). */
  readonly onRefreshed?: (result: RefreshResult, task: RefreshTask) => void;
  readonly onRefreshFailed?: (task: RefreshTask, error: unknown) => void;
  /** How often the leader looks for a view's new version to build beside the old one (default 5000 ms). */
  readonly viewBuildCheckMs?: number;
  /** Scheduled reconciliation (reconcile.ts), with its metrics hooks; absent: none. */
  readonly reconcile?: ReconcileSettings & Pick<ReconcilerOptions, "onDrift" | "onChecked" | "onDeferred">;
}

/** A running consistency service. */
export interface ConsistencyService {
  /** The stream sequence and point up to which every view has applied every event. */
  complete(): { seq: number };
  /** Resolves when the coordinator has nothing pending. */
  idle(): Promise<void>;
  /** Runs a reconciliation pass now (none configured: a pass with no schedule of its own). */
  reconcile(): Promise<PassResult>;
  stop(): Promise<void>;
}

/** Starts the service: resumes from the checkpoint, or rebuilds every view when the stream cannot resume it. */
export async function startConsistencyService(
  options: ConsistencyServiceOptions,
): Promise<ConsistencyService> {
  let checkpoint = await readCheckpoint(options.db);
  const bounds = options.bounds ? await options.bounds() : undefined;
  const resumable =
    bounds !== undefined &&
    checkpoint.seq <= bounds.lastSeq &&
    (bounds.lastSeq === 0 || checkpoint.seq + 1 >= bounds.firstSeq);
  if (!resumable) {
    // Rebuild: everything committed before the refresh is in the views; read on after the stream's end as it was.
    const after = bounds?.lastSeq ?? 0;
    let rows = 0;
    for (const view of viewNames) {
      const started = performance.now();
      const count = await refreshFull(options.db, view);
      rows += count.upserted + count.deleted;
      options.onRefreshed?.(
        { view, mode: "full", ...count, seconds: (performance.now() - started) / 1000 },
        { view, refreshes: [], point: { transactionId: "0", position: "0" }, committedAt: [] },
      );
    }
    checkpoint = { seq: after, point: checkpoint.point };
    await writeCheckpoint(options.db, checkpoint, "default", true);
    options.log?.info({ rows, resumeAfterSeq: after }, "rebuilt every read view");
  }
  let pending = 0;
  /** Announces an update; a broadcast that cannot go out (NATS closed) is logged, the next one catches up. */
  const publish = (update: ConsistencyUpdate, caughtUpAt?: number): void => {
    try {
      options.publish(update, caughtUpAt);
    } catch (error) {
      options.log?.warn({ error: String(error) }, "consistency update not broadcast");
    }
  };
  const coordinator = createCoordinator(
    {
      runRefresh: async (task) => {
        const result = await options.runRefresh(task);
        options.onRefreshed?.(result, task);
      },
      publish: (update) => publish(update),
      checkpoint: (seq, point) => writeCheckpoint(options.db, { seq, point }),
      onError: (error, task) => {
        options.onRefreshFailed?.(task, error);
        options.log?.warn({ view: task.view, error: String(error) }, "view refresh failed; retrying");
      },
      deadLetter: async (task, error, attempts) => {
        await recordDeadLetter(options.db, {
          source: "consistency",
          consumer: task.view,
          key: refreshKeyOf(task),
          error: describeError(error),
          attempts,
          payload: task,
        });
        options.log?.warn(
          { view: task.view, key: refreshKeyOf(task) },
          "view rows set aside as a dead letter",
        );
      },
      onCheckpointError: (error) =>
        options.log?.warn({ error: String(error) }, "consistency checkpoint write failed; retrying"),
    },
    checkpoint.seq,
    checkpoint.point,
  );
  const clock = createCaughtUpClock();
  const traffic = createRateMeter();
  const feed = await options.startFeed(checkpoint.seq, (event, seq, left, traceparent) => {
    pending = left;
    traffic.record();
    clock.accepted(seq, Date.parse(event.committedAt));
    coordinator.accept(event, seq, traceparent);
  });
  // Dead letters an operator asked to retry: the rows are refreshed again (the view's point never goes back).
  const retrier = startDeadLetterRetrier({
    db: options.db,
    source: "consistency",
    retry: async (letter) => {
      await options.runRefresh(letter.payload as RefreshTask);
    },
    ...(options.log === undefined ? {} : { log: options.log }),
  });
  const heartbeat = setInterval(() => {
    const c = coordinator.complete();
    const caughtUpAt = clock.caughtUpAt(c.seq, pending === 0 && coordinator.isIdle(), Date.now());
    publish({ views: {}, complete: c.point, completeSeq: c.seq, invalidations: [] }, caughtUpAt);
  }, options.heartbeatMs ?? 250);
  /** Announces cached answers made stale outside the event stream (a repair, a view's new version). */
  const invalidate = (invalidations: readonly CacheInvalidation<QueryType>[]): void => {
    const c = coordinator.complete();
    publish({ views: {}, complete: c.point, completeSeq: c.seq, invalidations: [...invalidations] });
  };
  const reconciler = startReconciler({
    intervalMs: 0,
    batchKeys: 500,
    maxEventsPerSecond: Number.POSITIVE_INFINITY,
    ...options.reconcile,
    db: options.db,
    eventRate: () => traffic.rate(),
    invalidate,
    ...(options.log === undefined ? {} : { log: options.log }),
  });
  // A view's new version registered by a migration is built beside the old one and swapped in (view-builds.ts).
  let building: Promise<void> | undefined;
  let stopping = false;
  const buildViews = async (): Promise<void> => {
    for (const build of await listViewBuilds(options.db)) {
      if (stopping) return;
      options.log?.info({ view: build.view }, "building a read view's new version beside the old one");
      const built = await runViewBuild(options.db, build.view, {
        stopped: () => stopping,
        onProgress: (message, fields) => options.log?.info(fields, message),
      });
      if (built.invalidations.length > 0) invalidate(built.invalidations);
    }
  };
  const builder = setInterval(() => {
    building ??= buildViews()
      .catch((error: unknown) =>
        options.log?.warn({ error: String(error) }, "read view build failed; retrying"),
      )
      .finally(() => {
        building = undefined;
      });
  }, options.viewBuildCheckMs ?? 5_000);
  return {
    complete: () => ({ seq: coordinator.complete().seq }),
    idle: () => coordinator.idle(),
    reconcile: () => reconciler.runPass(),
    async stop() {
      clearInterval(heartbeat);
      stopping = true;
      clearInterval(builder);
      await building;
      await reconciler.stop();
      await retrier.stop();
      await feed.stop();
      await coordinator.stop();
    },
  };
}
