/**
 * `bun scripts/check-compose.ts [--run [--database NAME] [--prefix P] [--keep] [--cwd DIR]]`
 *
 * Without a container engine: checks docker-compose.yml, the Dockerfile and .dockerignore against the code
 * (see scripts/compose/checks.ts; the same checks run in scripts/check-compose.unit.test.ts). With --run it
 * also runs here what the compose services run, against local Postgres and NATS (see
 * scripts/compose/run-by-hand.ts). Exit 0 when everything passed, 1 otherwise.
 */
import { parseArgs } from "node:util";
import { checkAll, knownRoles, repositoryRoot } from "./compose/checks";
import { loadCompose } from "./compose/load";
import { runByHand } from "./compose/run-by-hand";

const { values } = parseArgs({
  options: {
    run: { type: "boolean", default: false },
    database: { type: "string", default: "clone_compose_check" },
    prefix: { type: "string", default: "compose_check" },
    keep: { type: "boolean", default: false },
    /** Where the commands run: a copy of the image's files (e.g. after `bun install --production`). */
    cwd: { type: "string" },
  },
});
if (!/^[a-z_][a-z0-9_]*$/.test(values.database)) throw new Error("--database: lower-case letters, digits, _");

const problems = await checkAll(
  await loadCompose(repositoryRoot),
  repositoryRoot,
  await knownRoles(repositoryRoot),
);
for (const p of problems) console.log(`FAIL ${p}`);
console.log(
  problems.length === 0 ? "static checks: all passed" : `static checks: ${problems.length} problems`,
);
let failures = problems.length;
if (values.run) {
  // As compose would: the variables of this shell fill ${...} in the file.
  const compose = await loadCompose(repositoryRoot, process.env);
  failures += await runByHand(compose, {
    root: values.cwd ?? repositoryRoot,
    database: values.database,
    prefix: values.prefix,
    keep: values.keep,
    log: (line) => console.log(line),
  });
  console.log(failures === 0 ? "run by hand: all passed" : `run by hand: ${failures} failures`);
}
process.exit(failures === 0 ? 0 : 1);
