/**
 * `bun run chaos [--only "<scenario>,<scenario>"]`: the standing fault suite. Starts its own Postgres cluster
 * and nats-server on free loopback ports, runs every scenario on a fresh deployment of 2 gateways, 2 workers,
 * 2 relays and 2 consistency processes, and prints one table. Exits 1 when a correctness check failed (missed
 * recovery targets are reported, not fatal).
 */
import { parseArgs } from "node:util";
import { startPrivateNats, startPrivatePostgres } from "../testing";
import { allCorrect, formatReport } from "./report";
import { runScenario, type ScenarioResult } from "./runner";
import { scenarioNamed, scenarios } from "./scenarios";

const { values } = parseArgs({ options: { only: { type: "string" } } });
const chosen =
  values.only === undefined ? scenarios : values.only.split(",").map((n) => scenarioNamed(n.trim()));
const started = Date.now();
const log = (line: string) => console.error(`[chaos ${((Date.now() - started) / 1000).toFixed(0)}s] ${line}`);

const postgres = await startPrivatePostgres();
const nats = await startPrivateNats();
// Interrupted: the private servers go too (pg_ctl's postmaster would outlive the suite otherwise).
for (const signal of ["SIGINT", "SIGTERM"] as const)
  process.once(signal, () => {
    void Promise.allSettled([nats.destroy(), postgres.destroy()]).then(() => process.exit(130));
  });
const natsVersion = Bun.spawnSync(["nats-server", "--version"]).stdout.toString().trim();
log(`private Postgres on ${postgres.port}, ${natsVersion} on ${nats.port}`);
const results: ScenarioResult[] = [];
try {
  for (const scenario of chosen) {
    try {
      results.push(await runScenario({ postgres, nats }, scenario, { log }));
      log(`${scenario.name}: done`);
    } catch (error) {
      log(`${scenario.name}: could not run: ${error instanceof Error ? error.stack : String(error)}`);
      throw error;
    }
  }
} finally {
  await nats.destroy();
  await postgres.destroy();
  console.log(formatReport(results));
  console.log(`\n${results.length} scenarios in ${((Date.now() - started) / 60_000).toFixed(1)} min`);
}
process.exit(allCorrect(results) && results.length === chosen.length ? 0 : 1);
