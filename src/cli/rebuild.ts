/**
 * `cli rebuild`: full refresh of every read view, one view per transaction in registry order (the order
 * refreshes lock views in), so the consistency role can keep refreshing the others meanwhile. A full refresh
 * is the same diff as a keyed one over every key: rows that did not change are not written.
 */
import type pg from "pg";
import { refreshFull, type ViewName, viewNames } from "../read-models";
import { formatTable, progressBar } from "./table";

/** What the refresh of one view changed. */
export interface RebuildStep {
  readonly view: ViewName;
  readonly upserted: number;
  readonly deleted: number;
  readonly seconds: number;
}

/** Progress: `done` views finished, `current` running (undefined at the end), seconds since the start. */
export type RebuildProgress = (
  done: number,
  total: number,
  current: ViewName | undefined,
  seconds: number,
) => void;

/** Refreshes every view whole, one after the other; reports progress before and after each. */
export async function rebuildViews(
  pool: pg.Pool,
  onProgress: RebuildProgress = () => {},
): Promise<RebuildStep[]> {
  const started = performance.now();
  const elapsed = () => (performance.now() - started) / 1000;
  const steps: RebuildStep[] = [];
  for (const view of viewNames) {
    onProgress(steps.length, viewNames.length, view, elapsed());
    const viewStarted = performance.now();
    const client = await pool.connect();
    try {
      await client.query("BEGIN");
      const count = await refreshFull(client, view);
      await client.query("COMMIT");
      steps.push({ view, ...count, seconds: (performance.now() - viewStarted) / 1000 });
    } catch (error) {
      await client.query("ROLLBACK").catch(() => {});
      throw error;
    } finally {
      client.release();
    }
  }
  onProgress(steps.length, viewNames.length, undefined, elapsed());
  return steps;
}

/**
 * A progress reporter writing the bar to `write` (stderr): redrawn in place on a terminal, one line per
 * step otherwise (logs, pipes). While a view runs, the bar's clock keeps moving on a terminal.
 */
export function progressPrinter(
  write: (text: string) => void,
  tty: boolean,
): {
  readonly report: RebuildProgress;
  stop(): void;
} {
  let last: { done: number; total: number; label: string; at: number; seconds: number } | undefined;
  let timer: ReturnType<typeof setInterval> | undefined;
  const draw = (done: number, total: number, label: string, seconds: number) => {
    const bar = progressBar(done, total, label, seconds);
    write(tty ? `\r\x1b[2K${bar}` : `${bar}\n`);
  };
  if (tty) {
    timer = setInterval(() => {
      if (last) draw(last.done, last.total, last.label, last.seconds + (performance.now() - last.at) / 1000);
    }, 100);
  }
  return {
    report(done, total, current, seconds) {
      const label = current ?? "done";
      last = { done, total, label, at: performance.now(), seconds };
      draw(done, total, label, seconds);
      if (current === undefined && tty) write("\n");
    },
    stop() {
      if (timer) clearInterval(timer);
    },
  };
}

/** The result table: rows written and deleted per view, and the time each took. */
export function formatRebuild(steps: readonly RebuildStep[]): string {
  const rows = steps.map((s) => [
    s.view,
    s.upserted,
    s.deleted,
    s.upserted + s.deleted,
    s.seconds.toFixed(2),
  ]);
  const total = steps.reduce((n, s) => n + s.upserted + s.deleted, 0);
  return `${formatTable(["view", "upserted", "deleted", "rows changed", "seconds"], rows)}\n\n${total} rows changed in ${steps.length} views`;
}
