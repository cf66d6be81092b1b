/**
 * `bun scripts/check-compose.ts`
 *
 * Without a container engine: checks docker-compose.yml, the Dockerfile and .dockerignore against the code
 * (see scripts/compose/checks.ts; the same checks run in scripts/check-compose.unit.test.ts): the services run
 * the roles src/main.ts knows, with the variables src/config.ts reads and the ports they listen on, their
 * dependencies and healthchecks, the mounted files, NATS' durability, Prometheus' targets, and an image that
 * holds every module it runs. Exit 0 when everything passed, 1 otherwise.
 */
import { checkAll, knownRoles, repositoryRoot } from "./compose/checks";
import { loadCompose } from "./compose/load";

const problems = await checkAll(
  await loadCompose(repositoryRoot),
  repositoryRoot,
  await knownRoles(repositoryRoot),
);
for (const p of problems) console.log(`FAIL ${p}`);
console.log(
  problems.length === 0 ? "static checks: all passed" : `static checks: ${problems.length} problems`,
);
process.exit(problems.length === 0 ? 0 : 1);
