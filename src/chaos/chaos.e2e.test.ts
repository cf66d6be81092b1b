/**
 * The CI subset of the fault suite (`bun run chaos` runs all of it): a worker SIGKILL, a NATS restart
 * (SIGTERM), a NATS SIGKILL with JetStream late and a Postgres fast restart, each on a fresh deployment of 2 gateways, 2 workers, 2 relays and 2
 * consistency processes against the suite's own Postgres cluster and nats-server. Every correctness check
 * must pass; the recovery targets are asserted too.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type PrivateNats, type PrivatePostgres, startPrivateNats, startPrivatePostgres } from "../testing";
import { checkNames } from "./checks";
import { type Measure, withinTarget } from "./recovery";
import { formatReport } from "./report";
import { runScenario, type ScenarioResult } from "./runner";
import { type Servers, scenarioNamed } from "./scenarios";

let postgres: PrivatePostgres;
let nats: PrivateNats;
const results: ScenarioResult[] = [];

beforeAll(async () => {
  postgres = await startPrivatePostgres();
  nats = await startPrivateNats();
}, 60_000);

afterAll(async () => {
  await nats?.destroy();
  await postgres?.destroy();
  if (results.length > 0) console.log(formatReport(results));
});

const servers = (): Servers => ({ postgres, nats });
const options = { warmupMs: 2_000, afterMs: 5_000, quietMs: 60_000 };

const run = async (name: string): Promise<ScenarioResult> => {
  const r = await runScenario(servers(), scenarioNamed(name), options);
  results.push(r);
  return r;
};
const ran = (name: string): ScenarioResult => {
  const r = results.find((x) => x.name === name);
  if (r === undefined) throw new Error(`${name} did not run`);
  return r;
};

const expectCorrect = (r: ScenarioResult): void => {
  const failed = checkNames.filter((c) => !r.checks[c].ok).map((c) => `${c}: ${r.checks[c].detail}`);
  expect(failed).toEqual([]);
  expect(r.quietMs).toBeDefined();
};

/**
 * CI's allowance over the targets: its runner shares two cores with every process of the deployment (and
 * other jobs), so a recovery may take up to half as long again; `bun run chaos` reports the targets as they are.
 */
const ciSlack = 1.5;

/**
 * Every recovery measure of `r` (or those named in `only`) within its target, with {@link ciSlack} (the missed
 * ones named with their times).
 */
const expectRecovered = (r: ScenarioResult, only?: readonly (keyof ScenarioResult["recovery"])[]): void => {
  const missed = Object.entries(r.recovery)
    .filter(([name]) => only === undefined || (only as readonly string[]).includes(name))
    .map(([name, m]) => [name, m as Measure | undefined] as const)
    .filter(([, m]) => m !== undefined && !withinTarget({ ms: m.ms, targetMs: m.targetMs * ciSlack }))
    .map(([name, m]) => `${name}: ${m?.ms ?? "never"} ms > ${ciSlack} × ${m?.targetMs} ms`);
  expect(missed).toEqual([]);
};

describe("chaos (CI subset)", () => {
  test("worker SIGKILL: every check passes; recovery within its targets", async () => {
    const r = await run("worker SIGKILL");
    expectCorrect(r);
    expectRecovered(r, [
      "firstCommand",
      "readCaughtUp",
      "readLagMax",
      "healthDown",
      "healthUp",
      "documentProcessed",
    ]);
    // A lane whose command was in flight on the killed worker waits out its 1.5 s attempt, then retries while
    // the survivor takes the partition over (its rebalance runs each second): usually under 1 s, up to ~4 s in
    // some runs, so every lane is asserted within 10 s (a lane never served again fails).
    expect(r.recovery.allLanes.ms).toBeLessThan(10_000);
  }, 90_000);

  test("Postgres fast restart: every check passes and every recovery target is met", async () => {
    const r = await run("Postgres fast restart");
    expectCorrect(r);
    expectRecovered(r);
  }, 90_000);

  test("NATS SIGTERM restart: every check passes", async () => {
    expectCorrect(await run("NATS SIGTERM restart"));
  }, 120_000);

  // Without the event feed's restart after a NATS reconnect (src/consistency/event-feed.ts) the read side
  // stood still ~40 s after the restart.
  test("NATS SIGTERM restart: every recovery target is met", () => {
    expectRecovered(ran("NATS SIGTERM restart"));
  });

  // NATS back first without JetStream: before the partitions' start-over waited for the reconnect (and the
  // threads' pulls were short), commands waited 5 s to 45 s; before the event source started its consumer
  // over, the document probe's document was never processed within 30 s. (Health is not asserted here: a NATS
  // that takes connections but whose JetStream does not answer yet is not reported down.)
  test("NATS SIGKILL restart, JetStream late: every check passes; commands and documents within their targets", async () => {
    const r = await run("NATS SIGKILL restart (JetStream late)");
    expectCorrect(r);
    expectRecovered(r, ["firstCommand"]);
    // Both usually under 1 s; ~5 s in about one run in six on the loaded machine (a JetStream request made
    // just before the disconnect was seen still waits out its timeout). Without the fixes: lanes up to 45 s,
    // the document never (> 30 s).
    expect(r.recovery.allLanes.ms).toBeLessThan(10_000);
    expect(r.recovery.documentProcessed?.ms).toBeLessThan(10_000);
  }, 120_000);
});
