// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the strings are compose interpolation, not templates
/**
 * docker-compose.yml, the Dockerfile and .dockerignore checked against the code (no container engine
 * needed): the real files pass, and each kind of mistake is caught.
 */
import { describe, expect, test } from "bun:test";
import {
  CLUSTER_ENV_FILE,
  checkAll,
  checkClusterProfile,
  checkServices,
  knownRoles,
  repositoryRoot,
} from "./compose/checks";
import { inBuildContext, packageOf } from "./compose/image";
import { interpolate, loadCompose, localEnvironment, parseCompose, parseEnvFile } from "./compose/load";

const root = repositoryRoot;
const composeText = await Bun.file(`${root}/docker-compose.yml`).text();
const roles = ["gateway", "worker", "relay", "consistency", "all"];
const clusterEnv = await Bun.file(`${root}/${CLUSTER_ENV_FILE}`).text();

/** The problems of the profile `cluster` after editing the compose file or the env file. */
function clusterProblemsAfter(edit: { compose?: (t: string) => string; env?: (t: string) => string }) {
  const compose = edit.compose?.(composeText) ?? composeText;
  const env = edit.env?.(clusterEnv) ?? clusterEnv;
  expect(compose !== composeText || env !== clusterEnv).toBe(true);
  return checkClusterProfile(compose, env, root, roles);
}

function problemsAfter(edit: (text: string) => string): string[] {
  const changed = edit(composeText);
  expect(changed).not.toBe(composeText);
  return checkServices(parseCompose(changed), roles);
}

describe("docker-compose.yml", () => {
  test("src/main.ts accepts exactly the roles these checks assume", async () => {
    expect(await knownRoles(root)).toEqual(roles);
  });

  test("passes every check: services, mounts, NATS, Prometheus, image", async () => {
    expect(await checkAll(await loadCompose(root), root, roles)).toEqual([]);
  });

  test("each app service runs one role; the gateway publishes the configured ports", async () => {
    const compose = await loadCompose(root);
    const commands = Object.fromEntries(
      ["migrate", "gateway", "worker", "relay", "consistency"].map((s) => [s, compose.services[s]?.command]),
    );
    expect(commands).toEqual({
      migrate: ["bun", "run", "migrate"],
      gateway: ["bun", "src/main.ts", "--role", "gateway"],
      worker: ["bun", "src/main.ts", "--role", "worker"],
      relay: ["bun", "src/main.ts", "--role", "relay"],
      consistency: ["bun", "src/main.ts", "--role", "consistency"],
    });
    expect(compose.services.gateway?.ports).toEqual(["50051:50051", "8080:8080"]);
  });

  test("catches a bad role, an unknown variable, a bad value and a wrong port", () => {
    expect(problemsAfter((t) => t.replace('"--role", "relay"', '"--role", "replay"'))).toEqual([
      'relay: role "replay" is not one of gateway, worker, relay, consistency',
      'no service runs role "relay"',
    ]);
    expect(
      problemsAfter((t) =>
        t.replace("LOG_LEVEL: ${LOG_LEVEL:-info}", "LOG_LEVEL: ${LOG_LEVEL:-info}\n    LOGLEVEL: debug"),
      ),
    ).toContain("gateway: LOGLEVEL is not a variable src/config.ts reads");
    expect(problemsAfter((t) => t.replace("${LOG_LEVEL:-info}", "${LOG_LEVEL:-verbose}"))[0]).toMatch(
      /^migrate: invalid configuration: LOG_LEVEL: /,
    );
    expect(problemsAfter((t) => t.replace('"8080:8080"', '"8081:8081"'))).toEqual([
      "gateway: port 8080 (from its config) is not published",
      "gateway: publishes 8081, which it does not listen on",
    ]);
  });

  test("tracing goes to the Jaeger service; a collector that is not a service is caught", async () => {
    const compose = await loadCompose(root);
    expect(compose.services.jaeger?.ports).toContain("16686:16686");
    expect(compose.services.worker?.environment).toMatchObject({
      OTEL_EXPORTER_OTLP_ENDPOINT: "http://jaeger:4318",
      OTEL_SERVICE_NAME: "clone-worker",
    });
    expect(problemsAfter((t) => t.replace("http://jaeger:4318", "http://tempo:4318"))).toContain(
      'gateway: traces go to http://tempo:4318/v1/traces, but "tempo" is not a service of this file',
    );
    expect(
      problemsAfter((t) => t.replace("${OTEL_TRACES_EXPORTER:-otlp}", "${OTEL_TRACES_EXPORTER:-jaeger}"))[0],
    ).toMatch(/^migrate: invalid configuration: OTEL_TRACES_EXPORTER: /);
  });

  test("catches a dependency on a missing service or on one without a healthcheck", () => {
    expect(problemsAfter((t) => t.replace("  nats:\n    condition", "  natz:\n    condition"))).toContain(
      'gateway: depends on "natz", which is not a service',
    );
    expect(
      problemsAfter((t) => t.replace(/( {2}postgres:\n(?:.*\n)*? {4})healthcheck:/, "$1x-healthcheck:")),
    ).toContain('migrate: waits for "postgres" to be healthy, but it has no healthcheck');
  });
});

describe("profile cluster (3 NATS nodes, R3 streams, a Postgres replica)", () => {
  test("passes, and every role is wired to all three nodes with R3 streams, the gateway to the replica", async () => {
    expect(await checkClusterProfile(composeText, clusterEnv, root, roles)).toEqual([]);
    const compose = parseCompose(composeText, parseEnvFile(clusterEnv));
    expect(compose.services.gateway?.environment).toMatchObject({
      NATS_URL: "nats://nats-1:4222,nats://nats-2:4222,nats://nats-3:4222",
      NATS_STREAM_REPLICAS: "3",
      READ_DATABASE_URL: "postgres://postgres:postgres@postgres-replica:5432/clone",
    });
    // Without the env file the default deployment is unchanged: one NATS, R1, the views on the primary.
    expect((await loadCompose(root)).services.gateway?.environment).toMatchObject({
      NATS_URL: "nats://nats:4222",
      NATS_STREAM_REPLICAS: "1",
      READ_DATABASE_URL: "",
    });
  });

  test("catches R1 streams, a node left out, a shared store, a missing replica wiring or profile", async () => {
    expect(
      await clusterProblemsAfter({
        env: (t) => t.replace("NATS_STREAM_REPLICAS=3", "NATS_STREAM_REPLICAS=1"),
      }),
    ).toContain("profile cluster: gateway: NATS_STREAM_REPLICAS is 1, not 3");
    expect(await clusterProblemsAfter({ env: (t) => t.replace(",nats://nats-3:4222", "") })).toContain(
      "profile cluster: worker: NATS_URL nats://nats-1:4222,nats://nats-2:4222 is not every node on port 4222",
    );
    expect(
      await clusterProblemsAfter({ compose: (t) => t.replace("- nats-2-data:/data", "- nats-1-data:/data") }),
    ).toContain("profile cluster: nats-2: shares the store volume nats-1-data with another node");
    expect(
      await clusterProblemsAfter({ env: (t) => t.replace("@postgres-replica:", "@postgres:") }),
    ).toContain("profile cluster: gateway: READ_DATABASE_URL does not name the replica postgres-replica");
    expect(await clusterProblemsAfter({ env: (t) => t.replace("COMPOSE_PROFILES=cluster", "") })).toContain(
      `${CLUSTER_ENV_FILE}: COMPOSE_PROFILES does not enable "cluster"`,
    );
  });
});

describe("helpers", () => {
  test("compose interpolation", () => {
    expect(interpolate("${A:-x}/${B-y}/${C}/$$", { A: "", B: "", C: "c" })).toBe("x//c/$");
    expect(() => interpolate("${SECRET:?set it}", {})).toThrow("compose variable SECRET is required: set it");
  });

  test("env files; each URL of a list becomes local", () => {
    expect(parseEnvFile("# c\nA=1\n\nB = x=y\n")).toEqual({ A: "1", B: "x=y" });
    expect(localEnvironment({ NATS_URL: "nats://n1:4222,nats://n2:4222" }, ["n1"])).toEqual({
      NATS_URL: "nats://127.0.0.1:4222,nats://n2:4222",
    });
  });

  test("service host names become 127.0.0.1 on this machine", () => {
    expect(
      localEnvironment(
        {
          DATABASE_URL: "postgres://postgres:postgres@postgres:5432/clone",
          NATS_URL: "nats://nats:4222",
          LOG_LEVEL: "info",
        },
        ["postgres", "nats"],
      ),
    ).toEqual({
      DATABASE_URL: "postgres://postgres:postgres@127.0.0.1:5432/clone",
      NATS_URL: "nats://127.0.0.1:4222",
      LOG_LEVEL: "info",
    });
  });

  test(".dockerignore matching and package names", () => {
    const patterns = ["*", "!src/", "**/*.test.ts", "src/testing/"];
    expect(inBuildContext(patterns, "src/main.ts")).toBe(true);
    expect(inBuildContext(patterns, "src/cli/args.unit.test.ts")).toBe(false);
    expect(inBuildContext(patterns, "src/testing/nats.ts")).toBe(false);
    expect(inBuildContext(patterns, "README.md")).toBe(false);
    expect(packageOf("@nats-io/jetstream/internal")).toBe("@nats-io/jetstream");
    expect(packageOf("pg")).toBe("pg");
    expect(packageOf("node:util")).toBeUndefined();
    expect(packageOf("worker_threads")).toBeUndefined();
    expect(packageOf("bun:test")).toBeUndefined();
  });
});
