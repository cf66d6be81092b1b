// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the strings are compose interpolation, not templates
/**
 * docker-compose.yml, the Dockerfile and .dockerignore checked against the code (no container engine
 * needed): the real files pass, and each kind of mistake is caught.
 */
import { describe, expect, test } from "bun:test";
import { checkAll, checkServices, knownRoles, repositoryRoot } from "./compose/checks";
import { inBuildContext, packageOf } from "./compose/image";
import { interpolate, loadCompose, localEnvironment, parseCompose } from "./compose/load";

const root = repositoryRoot;
const composeText = await Bun.file(`${root}/docker-compose.yml`).text();
const roles = ["gateway", "worker", "relay", "consistency", "all"];

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

describe("helpers", () => {
  test("compose interpolation", () => {
    expect(interpolate("${A:-x}/${B-y}/${C}/$$", { A: "", B: "", C: "c" })).toBe("x//c/$");
    expect(() => interpolate("${SECRET:?set it}", {})).toThrow("compose variable SECRET is required: set it");
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
