/**
 * The consistency coordinator: turns the ordered event stream into keyed view refreshes.
 *
 * Events arrive in publish order. Each event's rule names the view rows to recompute; those are coalesced
 * per view for up to the rule's `refreshDelay`, then one refresh task per view runs (on the piscina pool),
 * at most one in flight per view, views in parallel. When a view's task has committed, the cache entries of
 * the queries reading that view are invalidated on every gateway, and the view's applied point moves on.
 * The invalidations go out even when the refresh changed no row: the rows may have been changed by an
 * earlier attempt whose answer was lost, or by a leader that died between its commit and its broadcast, and
 * the replay after the checkpoint is what delivers that broadcast.
 *
 * Two watermarks come out of it, both published with every change:
 *  - per view: the point of the last event whose rows this view has applied;
 *  - `complete`: the point (and stream sequence) up to which EVERY event has been applied to every view:
 *    the checkpoint to resume from after a restart, and what read-your-writes waits on.
 */
import type { StreamPoint } from "../contracts";
import { comparePoints, ORIGIN } from "../contracts";
import type { RetryPolicy } from "../dead-letters";
import type { PublishedEvent } from "../outbox";
import { pointOfPublishedEvent } from "../outbox";
import {
  type CacheInvalidation,
  type ConsistencyUpdate,
  type KeyedRefresh,
  type QueryType,
  ruleFor,
  type ViewName,
  viewsOfQuery,
} from "../read-models";
import { type BatchSpans, startBatchSpans, tracingOn } from "../tracing";
import { refreshIsolating } from "./isolate-refresh";

export type { ConsistencyUpdate };

/** One refresh of one view: the rows to recompute, and the point it brings the view to. */
export interface RefreshTask {
  readonly view: ViewName;
  readonly refreshes: readonly { readonly column: string; readonly keys: readonly string[] }[];
  readonly point: { readonly transactionId: string; readonly position: string };
  /** Commit times of the events in the task (ISO), for the lag metric. */
  readonly committedAt: readonly string[];
}

/** Dependencies of {@link createCoordinator}. */
export interface CoordinatorDeps {
  /** Runs one refresh task (one transaction that also records the view's applied point). */
  readonly runRefresh: (task: RefreshTask) => Promise<void>;
  /** Announces an update (invalidations, watermarks) to every gateway. */
  readonly publish: (update: ConsistencyUpdate) => void;
  /** Persists the resume checkpoint (the stream sequence up to which everything is applied). */
  readonly checkpoint?: (seq: number, point: StreamPoint) => Promise<void>;
  readonly onError?: (error: unknown, task: RefreshTask) => void;
  /** Records the rows of a view that keep failing to refresh; the view then moves on (isolate-refresh.ts). */
  readonly deadLetter?: (task: RefreshTask, error: unknown, attempts: number) => Promise<void>;
  readonly retryPolicy?: RetryPolicy;
  /** A checkpoint write failed (it is retried after `retryMs` with the latest point; nothing is thrown). */
  readonly onCheckpointError?: (error: unknown) => void;
  /** Delay before retrying a failed refresh whose dead letter could not be recorded, or a failed checkpoint write. */
  readonly retryMs?: number;
}

interface Pending {
  readonly keys: Map<string, Set<string>>;
  readonly invalidations: Map<string, CacheInvalidation<QueryType>>;
  point: StreamPoint;
  lastSeq: number;
  committedAt: string[];
  dueAt: number;
  /** The events' trace contexts, only while tracing is on. */
  traces?: (string | undefined)[];
}

/** A running coordinator. */
export interface Coordinator {
  /**
   * Takes the next event of the stream (in order) with its stream sequence, and (while tracing is on) the
   * trace context of its publish, which the refresh that applies it continues.
   */
  accept(event: PublishedEvent, seq: number, traceparent?: string): void;
  /** The point up to which every view has applied every event. */
  complete(): { point: StreamPoint; seq: number };
  /** Resolves when nothing is pending or in flight. */
  idle(): Promise<void>;
  /** True when nothing is pending or in flight. */
  isIdle(): boolean;
  /** Stops timers; waits for in-flight tasks. */
  stop(): Promise<void>;
}

/** Creates a coordinator resuming after stream sequence `startSeq` (point `startPoint`). */
export function createCoordinator(
  deps: CoordinatorDeps,
  startSeq = 0,
  startPoint: StreamPoint = ORIGIN,
): Coordinator {
  const pending = new Map<ViewName, Pending>();
  const inFlight = new Map<ViewName, Promise<void>>();
  /** Stream sequences accepted and not yet applied to every view, with the views still owing them. */
  const owed = new Map<number, { point: StreamPoint; views: Set<ViewName> }>();
  const applied = new Map<ViewName, StreamPoint>();
  let completeSeq = startSeq;
  let completePoint = startPoint;
  let lastAcceptedSeq = startSeq;
  let lastAcceptedPoint = startPoint;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let checkpointRetry: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
  let idleWaiters: Array<() => void> = [];
  const retryMs = deps.retryMs ?? 200;

  function isIdle(): boolean {
    return pending.size === 0 && inFlight.size === 0;
  }

  function advanceComplete(): boolean {
    let moved = false;
    // Owed entries are inserted in sequence order; the first one still owed stops the advance.
    for (const [seq, entry] of owed) {
      if (entry.views.size > 0) break;
      owed.delete(seq);
      completeSeq = seq;
      completePoint = entry.point;
      moved = true;
    }
    if (owed.size === 0 && lastAcceptedSeq > completeSeq) {
      completeSeq = lastAcceptedSeq;
      completePoint = lastAcceptedPoint;
      moved = true;
    }
    return moved;
  }

  /**
   * Persists the complete point. A failed write (Postgres restarting, a backend terminated) is reported and
   * retried with the then-latest point; it never rejects, so it cannot take the process down.
   */
  async function saveCheckpoint(): Promise<void> {
    if (!deps.checkpoint) return;
    try {
      await deps.checkpoint(completeSeq, completePoint);
    } catch (error) {
      deps.onCheckpointError?.(error);
      if (stopped || checkpointRetry !== undefined) return;
      checkpointRetry = setTimeout(() => {
        checkpointRetry = undefined;
        void saveCheckpoint();
      }, retryMs);
    }
  }

  let saving = false;
  let saveAgain = false;
  /**
   * Persists the complete point moved by events no view needed, one write at a time (the latest point when
   * it is done): a gateway reading a replica sees the complete point only as stored (replica-gate.ts).
   */
  function persistComplete(): void {
    if (saving) {
      saveAgain = true;
      return;
    }
    saving = true;
    void saveCheckpoint().finally(() => {
      saving = false;
      if (saveAgain) {
        saveAgain = false;
        persistComplete();
      }
    });
  }

  function schedule(): void {
    if (stopped || timer) return;
    let next = Number.POSITIVE_INFINITY;
    for (const [view, p] of pending) if (!inFlight.has(view)) next = Math.min(next, p.dueAt);
    if (next === Number.POSITIVE_INFINITY) return;
    timer = setTimeout(
      () => {
        timer = undefined;
        flushDue();
      },
      Math.max(0, next - Date.now()),
    );
  }

  function flushDue(): void {
    const now = Date.now();
    for (const [view, p] of [...pending]) {
      if (p.dueAt > now || inFlight.has(view)) continue;
      pending.delete(view);
      run(view, p);
    }
    schedule();
  }

  function run(view: ViewName, p: Pending): void {
    const task: RefreshTask = {
      view,
      refreshes: [...p.keys].map(([column, keys]) => ({ column, keys: [...keys] })),
      point: { transactionId: p.point.transactionId.toString(), position: p.point.position.toString() },
      committedAt: p.committedAt,
    };
    const spans = p.traces && traceRefresh(view, p.traces);
    const done = (async () => {
      for (;;) {
        try {
          await refreshIsolating(task, { ...deps, stopped: () => stopped });
          break;
        } catch (error) {
          deps.onError?.(error, task);
          if (stopped) return;
          await Bun.sleep(retryMs);
        }
      }
      applied.set(view, p.point);
      for (const [seq, entry] of owed) {
        if (seq > p.lastSeq) break;
        entry.views.delete(view);
      }
      const moved = advanceComplete();
      deps.publish({
        views: { [view]: p.point },
        complete: completePoint,
        completeSeq,
        invalidations: [...p.invalidations.values()],
      });
      if (moved) await saveCheckpoint();
    })().finally(() => {
      spans?.end();
      inFlight.delete(view);
      schedule();
      if (isIdle()) {
        const waiters = idleWaiters;
        idleWaiters = [];
        for (const w of waiters) w();
      }
    });
    inFlight.set(view, done);
  }

  return {
    accept(event, seq, traceparent) {
      if (seq <= lastAcceptedSeq) return; // a repeat after a reconnect
      const point = pointOfPublishedEvent(event);
      lastAcceptedSeq = seq;
      if (comparePoints(point, lastAcceptedPoint) > 0) lastAcceptedPoint = point;
      const rule = ruleFor(event.type);
      const refreshes: KeyedRefresh[] = rule ? rule.refreshes(event) : [];
      const invalidations = rule ? rule.invalidations(event) : [];
      const views = new Set(refreshes.map((r) => r.view));
      if (views.size > 0) owed.set(seq, { point, views: new Set(views) });
      for (const r of refreshes) {
        let p = pending.get(r.view);
        if (!p) {
          p = {
            keys: new Map(),
            invalidations: new Map(),
            point,
            lastSeq: seq,
            committedAt: [],
            dueAt: Date.now() + (rule?.refreshDelay ?? 0),
          };
          pending.set(r.view, p);
        }
        let keys = p.keys.get(r.column);
        if (!keys) {
          keys = new Set();
          p.keys.set(r.column, keys);
        }
        for (const k of r.keys) keys.add(k);
        p.point = point;
        p.lastSeq = seq;
        p.committedAt.push(event.committedAt);
        if (tracingOn()) {
          p.traces ??= [];
          p.traces.push(traceparent);
        }
        for (const inv of invalidations) {
          if (viewsOfQuery[inv.queryType].includes(r.view))
            p.invalidations.set(`${inv.queryType}|${inv.tag}`, inv);
        }
      }
      if (views.size === 0 && advanceComplete()) {
        deps.publish({ views: {}, complete: completePoint, completeSeq, invalidations: [] });
        persistComplete();
      }
      schedule();
    },
    complete: () => ({ point: completePoint, seq: completeSeq }),
    idle: () => (isIdle() ? Promise.resolve() : new Promise<void>((r) => idleWaiters.push(r))),
    isIdle,
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
      if (checkpointRetry) clearTimeout(checkpointRetry);
      checkpointRetry = undefined;
      await Promise.allSettled([...inFlight.values()]);
    },
  };
}

/**
 * The spans of one view refresh (see `startBatchSpans`): `view.refresh` for the refresh, linked to each
 * event's publish, and a `consistency.refresh` span in each event's trace.
 */
function traceRefresh(view: ViewName, traces: readonly (string | undefined)[]): BatchSpans {
  return startBatchSpans("view.refresh", "consistency.refresh", traces, { "clone.view": view });
}
