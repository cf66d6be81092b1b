/**
 * Runs one scenario on a fresh deployment: load, canary and samplers start, the fault is injected and ended,
 * the load runs on for a while, then the deployment is left to become quiet and the checks run.
 */
import { mintToken } from "../gateway";
import { startCanary } from "./canary";
import { type CheckName, type CheckResult, runChecks, waitForQuiet } from "./checks";
import { startDeployment } from "./deployment";
import { startDocumentProbe } from "./document-probe";
import { startLoad } from "./load";
import { startObservers } from "./observers";
import { measureRecovery, type Recovery } from "./recovery";
import { connectGateways } from "./retry";
import type { Scenario, Servers } from "./scenarios";

/** What one scenario came to. */
export interface ScenarioResult {
  readonly name: string;
  readonly checks: Record<CheckName, CheckResult>;
  readonly recovery: Recovery;
  /** Commands acknowledged, and how many needed a retry. */
  readonly commands: {
    readonly acked: number;
    readonly unacked: number;
    readonly retried: number;
    /** How many commands ended with each status other than OK. */
    readonly unackedCodes: Readonly<Record<string, number>>;
  };
  /** How long the deployment took to become quiet after the load stopped; undefined: not within the limit. */
  readonly quietMs: number | undefined;
}

/** Knobs of a run. */
export interface RunOptions {
  /** Load lanes. */
  readonly lanes?: number;
  /** How long the load runs before the fault, ms. */
  readonly warmupMs?: number;
  /** How long the load runs after the dependency is back, ms. */
  readonly afterMs?: number;
  /** How long to wait for the deployment to become quiet, ms. */
  readonly quietMs?: number;
  /** Progress lines. */
  readonly log?: (line: string) => void;
}

/** How long the document probe waits for its document to be processed, ms. */
const DOCUMENT_PROBE_MS = 30_000;

/** Runs `scenario` (built against the deployment it gets) and tears the deployment down. */
export async function runScenario(
  servers: Servers,
  chosen: Scenario,
  options: RunOptions = {},
): Promise<ScenarioResult> {
  const lanes = options.lanes ?? 6;
  const log = options.log ?? (() => {});
  const deployment = await startDeployment({ postgres: servers.postgres, nats: servers.nats });
  log(`${chosen.name}: deployment ${deployment.db.name} up`);
  const clients = connectGateways(deployment.gatewayAddresses);
  try {
    const token = await mintToken({ sub: "chaos", role: "admin", secret: deployment.secret });
    const observers = startObservers(deployment.healthTargets, deployment.db.pool);
    const load = await startLoad({ clients, token, lanes, pauseMs: 20 });
    const canary = await startCanary(clients, token);
    const probe = await startDocumentProbe(clients, token, deployment.db.pool);
    await Bun.sleep(options.warmupMs ?? 3_000);
    const times = await chosen.run(deployment, servers);
    log(`${chosen.name}: fault ended after ${times.healAt - times.faultAt} ms`);
    const documentProcessed = probe.measure(DOCUMENT_PROBE_MS);
    await Bun.sleep(Math.max(0, times.healAt + (options.afterMs ?? 8_000) - Date.now()));
    const documentProcessedMs = await documentProcessed;
    await Promise.race([Promise.all([load.stop(), canary.stop()]), Bun.sleep(100_000)]);
    const quietMs = await waitForQuiet(
      deployment.db.pool,
      servers.nats.url,
      deployment.nats.prefix,
      options.quietMs ?? 60_000,
    );
    // One more progress sample after the quiet point, so the last commands are seen applied.
    await Bun.sleep(300);
    await observers.stop();
    const acked = [...load.acked, ...canary.acked];
    const checks = await runChecks({
      pool: deployment.db.pool,
      natsUrl: servers.nats.url,
      prefix: deployment.nats.prefix,
      acked,
      unacked: [
        ...load.unacked,
        ...canary.expired.map((commandId, seq) => ({ commandId, lane: -1, seq, code: "EXPIRED" })),
      ],
      conversations: load.conversations,
      processes: deployment.processes,
      canary: canary.ticks,
    });
    const recovery = measureRecovery({
      ...times,
      dependencyLost: chosen.dependencyLost,
      killed: chosen.killed,
      lanes,
      acked: load.acked,
      health: observers.health,
      progress: observers.progress,
      documentProcessedMs,
    });
    return {
      name: chosen.name,
      checks,
      recovery,
      commands: {
        acked: acked.length,
        unacked: load.unacked.length,
        retried: load.retried(),
        unackedCodes: Object.fromEntries(
          [...new Set(load.unacked.map((c) => c.code))].map((code) => [
            code,
            load.unacked.filter((c) => c.code === code).length,
          ]),
        ),
      },
      quietMs,
    };
  } finally {
    clients.close();
    await deployment.destroy();
  }
}
