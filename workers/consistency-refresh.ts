/**
 * Piscina task module of the consistency worker pool: applies one view refresh on this thread's own
 * Postgres pool (created on first use).
 */
import type pg from "pg";
import { applyRefreshTask, type RefreshMode, type RefreshResult } from "../src/consistency/apply-refresh";
import type { RefreshTask } from "../src/consistency/coordinator";
import { createPool } from "../src/db";

let pool: pg.Pool | undefined;

/** The task's input. */
export interface RefreshJob {
  readonly databaseUrl: string;
  readonly poolSize: number;
  readonly task: RefreshTask;
  readonly mode: RefreshMode;
}

export default async function refresh(job: RefreshJob): Promise<RefreshResult> {
  pool ??= createPool(job.databaseUrl, { max: job.poolSize, applicationName: "clone-consistency-refresh" });
  return applyRefreshTask(pool, job.task, job.mode);
}
