/**
 * Static checks of docker-compose.yml, the Dockerfile and .dockerignore against the code and the ops/ files, for a machine
 * that cannot run containers: each returns the problems it found (an empty list is a pass).
 */
import { existsSync } from "node:fs";
import { dirname, join, posix } from "node:path";
import { envSchema, loadConfig } from "../../src/config";
import { dockerfileInstructions, inBuildContext, runtimeClosure } from "./image";
import {
  APP_IMAGE,
  appServices,
  type ComposeFile,
  type ComposeService,
  commandOf,
  dependenciesOf,
  environmentOf,
  localEnvironment,
  parseCompose,
  parseEnvFile,
} from "./load";

/** The roles `bun src/main.ts --role X` accepts (read from its own error message, see {@link knownRoles}). */
export type RoleList = readonly string[];

/** Asks src/main.ts which roles it accepts: the list its error for an unknown role names. */
export async function knownRoles(root: string): Promise<string[]> {
  const child = Bun.spawn(["bun", join(root, "src/main.ts"), "--role", "no-such-role"], {
    stdout: "pipe",
    stderr: "pipe",
    env: { PATH: process.env.PATH ?? "" },
  });
  const stderr = await new Response(child.stderr).text();
  await child.exited;
  const m = /--role must be one of ([a-z, ]+)/.exec(stderr);
  if (!m) throw new Error(`src/main.ts did not list its roles: ${stderr}`);
  return (m[1] as string).split(",").map((r) => r.trim());
}

/** The port a healthcheck's HTTP URL names, if it has one. */
export function healthcheckPort(service: ComposeService): number | undefined {
  const test = service.healthcheck?.test ?? "";
  const text = typeof test === "string" ? test : test.join(" ");
  const m = /https?:\/\/[^/:]+:(\d+)\//.exec(text);
  return m ? Number(m[1]) : undefined;
}

/** Container ports a service publishes. */
export function containerPorts(service: ComposeService): number[] {
  return (service.ports ?? []).map((p) => Number(String(p).split(":").at(-1)?.split("/")[0]));
}

/** Services, commands, dependencies, environments and ports. */
export function checkServices(compose: ComposeFile, roles: RoleList): string[] {
  const problems: string[] = [];
  const services = compose.services;
  const names = Object.keys(services);
  const apps = appServices(compose);
  const serveRoles = roles.filter((r) => r !== "all");
  const seenRoles = new Map<string, string>();
  for (const name of names) {
    const s = services[name] as ComposeService;
    for (const [target, condition] of Object.entries(dependenciesOf(s))) {
      const t = services[target];
      if (!t) problems.push(`${name}: depends on "${target}", which is not a service`);
      else if (condition === "service_healthy" && (!t.healthcheck?.test || t.healthcheck.disable))
        problems.push(`${name}: waits for "${target}" to be healthy, but it has no healthcheck`);
      else if (condition === "service_completed_successfully" && t.restart !== "no")
        problems.push(`${name}: waits for "${target}" to complete, but its restart policy is not "no"`);
    }
    if (!s.restart) problems.push(`${name}: no restart policy`);
  }
  for (const name of apps) {
    const s = services[name] as ComposeService;
    const command = commandOf(s);
    const role = command[3];
    if (command.join(" ") === "bun run migrate") {
      if (s.restart !== "no") problems.push(`${name}: a one-shot migration must have restart: "no"`);
    } else if (command.length !== 4 || command.slice(0, 3).join(" ") !== "bun src/main.ts --role") {
      problems.push(
        `${name}: command must be ["bun", "src/main.ts", "--role", "<role>"], not ${JSON.stringify(command)}`,
      );
    } else if (!serveRoles.includes(role as string)) {
      problems.push(`${name}: role "${role}" is not one of ${serveRoles.join(", ")}`);
    } else if (seenRoles.has(role as string)) {
      problems.push(`${name}: role "${role}" is already run by ${seenRoles.get(role as string)}`);
    } else {
      seenRoles.set(role as string, name);
      if (!s.healthcheck?.test) problems.push(`${name}: no healthcheck`);
    }
    if (s.container_name) problems.push(`${name}: a container_name prevents scaling`);
    problems.push(...checkEnvironment(name, s, names, role));
  }
  for (const role of serveRoles) {
    if (!seenRoles.has(role)) problems.push(`no service runs role "${role}"`);
  }
  const worker = seenRoles.get("worker");
  if (worker && (services[worker]?.ports ?? []).length > 0)
    problems.push(`${worker}: publishes ports, so it cannot be scaled`);
  return problems;
}

/** The variables are ones src/config.ts knows and loadConfig accepts; the ports agree with the config. */
function checkEnvironment(name: string, s: ComposeService, serviceNames: string[], role: string | undefined) {
  const problems: string[] = [];
  const env = environmentOf(s);
  const known = new Set(Object.keys(envSchema.shape));
  for (const key of Object.keys(env)) {
    if (!known.has(key)) problems.push(`${name}: ${key} is not a variable src/config.ts reads`);
  }
  problems.push(...checkTracesEndpoint(name, env, serviceNames));
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(localEnvironment(env, serviceNames));
  } catch (error) {
    return [...problems, `${name}: ${error instanceof Error ? error.message : String(error)}`];
  }
  if (config.databaseUrl === undefined || config.natsUrl === undefined)
    problems.push(`${name}: both DATABASE_URL and NATS_URL must be set (else it would run embedded)`);
  const published = containerPorts(s);
  const health = healthcheckPort(s);
  if (role === "gateway") {
    for (const port of [config.grpc.port, config.httpPort]) {
      if (!published.includes(port))
        problems.push(`${name}: port ${port} (from its config) is not published`);
    }
    for (const port of published) {
      if (port !== config.grpc.port && port !== config.httpPort)
        problems.push(`${name}: publishes ${port}, which it does not listen on`);
    }
    if (health !== undefined && health !== config.httpPort)
      problems.push(`${name}: healthcheck on port ${health}, but HTTP_PORT is ${config.httpPort}`);
  } else if (role !== undefined && health !== undefined && health !== config.metricsPort) {
    problems.push(`${name}: healthcheck on port ${health}, but METRICS_PORT is ${config.metricsPort}`);
  }
  const defaults = loadConfig({});
  if (
    role === "gateway" &&
    (config.grpc.port !== defaults.grpc.port || config.httpPort !== defaults.httpPort)
  )
    problems.push(
      `${name}: ports differ from the config defaults (${defaults.grpc.port}, ${defaults.httpPort})`,
    );
  if (role !== undefined && role !== "gateway" && config.metricsPort !== defaults.metricsPort)
    problems.push(`${name}: METRICS_PORT differs from the default ${defaults.metricsPort}`);
  return problems;
}

/** Tracing, when on, exports to a service of this file (the collector), not to the container itself. */
function checkTracesEndpoint(name: string, env: Record<string, string>, serviceNames: string[]): string[] {
  let tracing: ReturnType<typeof loadConfig>["tracing"];
  try {
    tracing = loadConfig(env).tracing;
  } catch {
    return []; // reported with the other configuration problems
  }
  if (tracing === undefined || tracing.exporter !== "otlp") return [];
  const host = new URL(tracing.tracesUrl).hostname;
  return serviceNames.includes(host)
    ? []
    : [`${name}: traces go to ${tracing.tracesUrl}, but "${host}" is not a service of this file`];
}

/** Every bind-mounted file exists in the repository; named volumes are declared. */
export function checkMounts(compose: ComposeFile, root: string): string[] {
  const problems: string[] = [];
  for (const [name, s] of Object.entries(compose.services)) {
    for (const volume of s.volumes ?? []) {
      const [source = ""] = volume.split(":");
      if (source.startsWith(".") || source.startsWith("/")) {
        if (!existsSync(join(root, source))) problems.push(`${name}: mounts ${source}, which does not exist`);
      } else if (!(compose.volumes && source in compose.volumes)) {
        problems.push(`${name}: volume "${source}" is not declared under volumes`);
      }
    }
  }
  return problems;
}

/** Where a service mounts a repository path inside its container. */
export function mountTarget(service: ComposeService | undefined, source: string): string | undefined {
  for (const volume of service?.volumes ?? []) {
    const [from, to] = volume.split(":");
    if (from && to && posix.normalize(from) === posix.normalize(source)) return to;
  }
  return undefined;
}

/** NATS: JetStream fsyncs every write into the volume, and the healthcheck watches the monitoring port. */
export async function checkNats(compose: ComposeFile, root: string): Promise<string[]> {
  const nats = compose.services.nats;
  if (!nats) return ["no nats service"];
  const conf = await Bun.file(join(root, "ops/nats/nats.conf")).text();
  const problems: string[] = [];
  const get = (key: string) => new RegExp(`^\\s*${key}\\s*[:=]\\s*(\\S+)`, "m").exec(conf)?.[1];
  if (get("sync_interval") !== "always") problems.push("nats.conf: jetstream sync_interval must be always");
  const storeDir = get("store_dir");
  if (!(nats.volumes ?? []).some((v) => v.split(":")[1] === storeDir))
    problems.push(`nats: store_dir ${storeDir} is not a volume`);
  if (Number(get("http_port")) !== healthcheckPort(nats))
    problems.push(`nats: healthcheck port is not the monitoring port ${get("http_port")}`);
  if (
    !mountTarget(nats, "./ops/nats/nats.conf") ||
    !commandOf(nats).includes(mountTarget(nats, "./ops/nats/nats.conf") as string)
  )
    problems.push("nats: does not run with the mounted ops/nats/nats.conf");
  return problems;
}

/** Prometheus scrapes the services on the ports they serve metrics on; its rule files are mounted beside it. */
export async function checkPrometheus(compose: ComposeFile, root: string): Promise<string[]> {
  const prometheus = compose.services.prometheus;
  const configTarget = mountTarget(prometheus, "./ops/prometheus/prometheus.yml");
  if (!configTarget) return ["prometheus: ops/prometheus/prometheus.yml is not mounted"];
  const problems: string[] = [];
  const config = Bun.YAML.parse(await Bun.file(join(root, "ops/prometheus/prometheus.yml")).text()) as {
    rule_files?: string[];
    scrape_configs?: { job_name: string; dns_sd_configs?: { names: string[]; port: number }[] }[];
  };
  for (const rules of config.rule_files ?? []) {
    const expected = posix.join(posix.dirname(configTarget), rules);
    if (mountTarget(prometheus, `./${posix.join("ops/prometheus", rules)}`) !== expected)
      problems.push(`prometheus: rule file ${rules} is not mounted at ${expected}`);
  }
  for (const job of config.scrape_configs ?? []) {
    for (const sd of job.dns_sd_configs ?? []) {
      for (const target of sd.names) {
        const s = compose.services[target];
        if (!s) {
          problems.push(`prometheus job ${job.job_name}: no service "${target}"`);
          continue;
        }
        const config = loadConfig(localEnvironment(environmentOf(s), Object.keys(compose.services)));
        const port = commandOf(s)[3] === "gateway" ? config.httpPort : config.metricsPort;
        if (sd.port !== port)
          problems.push(`prometheus job ${job.job_name}: scrapes ${target}:${sd.port}, it serves on ${port}`);
      }
    }
  }
  return problems;
}

/** The Dockerfile: base image, production install, non-root, and it copies every module the image runs. */
export async function checkImage(root: string): Promise<string[]> {
  const problems: string[] = [];
  const steps = dockerfileInstructions(await Bun.file(join(root, "Dockerfile")).text());
  for (const from of steps.filter((s) => s.op === "FROM")) {
    if (!from.args.startsWith("oven/bun:1.4"))
      problems.push(`Dockerfile: FROM ${from.args}, expected oven/bun:1.4`);
  }
  if (!steps.some((s) => s.op === "RUN" && s.args.includes("bun install --frozen-lockfile --production")))
    problems.push("Dockerfile: no `bun install --frozen-lockfile --production`");
  const user = steps.filter((s) => s.op === "USER").at(-1)?.args;
  if (user === undefined || user === "root" || user.startsWith("0"))
    problems.push("Dockerfile: runs as root");
  const copied = new Set(
    steps
      .filter((s) => s.op === "COPY" && !s.args.startsWith("--from"))
      .flatMap((s) => s.args.split(/\s+/).slice(0, -1)),
  );
  const ignore = existsSync(join(root, ".dockerignore"))
    ? (await Bun.file(join(root, ".dockerignore")).text()).split("\n")
    : [];
  const pkg = (await Bun.file(join(root, "package.json")).json()) as {
    dependencies?: Record<string, string>;
    devDependencies?: Record<string, string>;
    scripts?: Record<string, string>;
  };
  const { files, packages } = await runtimeClosure(root);
  const needed = [...files, "package.json", "bun.lock", ...(await sqlFiles(root))];
  for (const file of needed) {
    const top = file.split("/")[0] as string;
    if (!copied.has(top) && !copied.has(file)) problems.push(`Dockerfile: does not copy ${file}`);
    if (!inBuildContext(ignore, file))
      problems.push(`.dockerignore: leaves out ${file}, which the image needs`);
  }
  for (const [name, importer] of packages) {
    if (pkg.dependencies?.[name]) continue;
    const where = pkg.devDependencies?.[name] ? "only in devDependencies" : "not in package.json";
    problems.push(`package.json: ${name} (imported by ${importer}) is ${where}; --production leaves it out`);
  }
  if (!pkg.scripts?.migrate) problems.push("package.json: no migrate script for `bun run migrate`");
  return problems;
}

async function sqlFiles(root: string): Promise<string[]> {
  return Array.fromAsync(new Bun.Glob("sql/*.sql").scan({ cwd: root }));
}

/** The compose profile of the scaled-out deployment, and the env file that turns it on. */
export const CLUSTER_PROFILE = "cluster";
export const CLUSTER_ENV_FILE = "ops/compose/cluster.env";
const CLUSTER_CONF = "./ops/nats/cluster.conf";

/** A `key: value` of a NATS config file. */
const natsConfValue = (conf: string, key: string) =>
  new RegExp(`^\\s*${key}\\s*[:=]\\s*(\\S+)`, "m").exec(conf)?.[1];

/**
 * The profile `cluster`, as `docker compose --env-file ops/compose/cluster.env up` would run it: the compose
 * text interpolated with that env file passes the service checks; an odd number (3+) of NATS nodes, each
 * with ops/nats/cluster.conf (fsync always, routes to every node), its own store volume and server name, and
 * a healthcheck on the monitoring port; a replica made by `pg_basebackup -R` from the primary, which allows
 * replication; and every app role on all the nodes with R<nodes> streams, the gateway reading the replica.
 */
export async function checkClusterProfile(
  composeText: string,
  envText: string,
  root: string,
  roles: RoleList,
): Promise<string[]> {
  const env = parseEnvFile(envText);
  const problems: string[] = [];
  if (!(env.COMPOSE_PROFILES ?? "").split(",").includes(CLUSTER_PROFILE))
    problems.push(`${CLUSTER_ENV_FILE}: COMPOSE_PROFILES does not enable "${CLUSTER_PROFILE}"`);
  const compose = parseCompose(composeText, env);
  const say = (p: string) => problems.push(`profile ${CLUSTER_PROFILE}: ${p}`);
  for (const p of checkServices(compose, roles)) say(p);
  const inProfile = Object.entries(compose.services).filter(([, s]) => s.profiles?.includes(CLUSTER_PROFILE));
  const nodes = inProfile.filter(([, s]) => s.image?.startsWith("nats:")).map(([name]) => name);
  if (nodes.length < 3 || nodes.length % 2 === 0)
    say(`${nodes.length} NATS nodes; a cluster needs an odd number, at least 3`);
  const conf = await Bun.file(join(root, CLUSTER_CONF)).text();
  if (natsConfValue(conf, "sync_interval") !== "always")
    say("cluster.conf: jetstream sync_interval must be always");
  if (natsConfValue(conf, "server_name") !== "$NATS_SERVER_NAME")
    say("cluster.conf: server_name must come from $NATS_SERVER_NAME");
  const routePort = /cluster\s*\{[^}]*?\bport\s*[:=]\s*(\d+)/.exec(conf)?.[1];
  const routes = new Set(
    [...conf.matchAll(/nats:\/\/([a-z0-9-]+):(\d+)/g)].filter((m) => m[2] === routePort).map((m) => m[1]),
  );
  const storeDir = natsConfValue(conf, "store_dir");
  const clientPort = Number(natsConfValue(conf, "port") ?? 4222);
  const names = new Set<string>();
  const volumes = new Set<string>();
  for (const node of nodes) {
    const s = compose.services[node] as ComposeService;
    const target = mountTarget(s, CLUSTER_CONF);
    if (!target || !commandOf(s).includes(target))
      say(`${node}: does not run with the mounted ${CLUSTER_CONF}`);
    if (!routes.has(node)) say(`cluster.conf: no route to ${node}:${routePort}`);
    const store = (s.volumes ?? []).find((v) => v.split(":")[1] === storeDir)?.split(":")[0];
    if (store === undefined) say(`${node}: store_dir ${storeDir} is not a volume`);
    else if (volumes.has(store)) say(`${node}: shares the store volume ${store} with another node`);
    else volumes.add(store);
    const name = environmentOf(s).NATS_SERVER_NAME;
    if (!name || names.has(name)) say(`${node}: needs a NATS_SERVER_NAME of its own`);
    else names.add(name);
    if (Number(natsConfValue(conf, "http_port")) !== healthcheckPort(s))
      say(`${node}: healthcheck port is not the monitoring port`);
  }
  const replicas = inProfile.filter(([, s]) => commandOf(s).join(" ").includes("pg_basebackup"));
  const [replicaName, replica] = replicas[0] ?? [];
  if (!replica || !replicaName) say("no service makes a replica with pg_basebackup");
  else {
    if (!/pg_basebackup .*-R/.test(commandOf(replica).join(" ")))
      say(`${replicaName}: pg_basebackup without -R (not a standby)`);
    if (!replica.healthcheck?.test) say(`${replicaName}: no healthcheck`);
  }
  const primary = compose.services.postgres;
  if (
    !(primary?.volumes ?? []).some(
      (v) => v.includes("ops/postgres/allow-replication.sh") && v.includes("/docker-entrypoint-initdb.d/"),
    )
  )
    say("postgres: does not run ops/postgres/allow-replication.sh at initdb (a replica could not connect)");
  for (const app of appServices(compose)) {
    const s = compose.services[app] as ComposeService;
    const config = loadConfig(localEnvironment(environmentOf(s), []));
    const servers = (config.natsUrl ?? "").split(",").map((u) => new URL(u.trim()));
    const hosts = servers.map((u) => u.hostname).sort();
    if (
      JSON.stringify(hosts) !== JSON.stringify([...nodes].sort()) ||
      servers.some((u) => Number(u.port) !== clientPort)
    )
      say(`${app}: NATS_URL ${config.natsUrl} is not every node on port ${clientPort}`);
    if (config.natsStreamReplicas !== nodes.length)
      say(`${app}: NATS_STREAM_REPLICAS is ${config.natsStreamReplicas}, not ${nodes.length}`);
    const deps = dependenciesOf(s);
    for (const dep of [...nodes, ...(replicaName ? [replicaName] : [])]) {
      if (app !== "migrate" && deps[dep] !== "service_healthy")
        say(`${app}: does not wait for ${dep} to be healthy`);
    }
    if (commandOf(s)[3] === "gateway") {
      const read = config.readDatabaseUrl === undefined ? undefined : new URL(config.readDatabaseUrl);
      const primaryUrl = new URL(config.databaseUrl ?? "postgres://none");
      if (read === undefined || read.hostname !== replicaName)
        say(`${app}: READ_DATABASE_URL does not name the replica ${replicaName}`);
      else if (read.pathname !== primaryUrl.pathname)
        say(`${app}: READ_DATABASE_URL is not the same database as DATABASE_URL`);
    }
  }
  return problems;
}

/** Every check of this folder; the problems found. */
export async function checkAll(compose: ComposeFile, root: string, roles: RoleList): Promise<string[]> {
  if (!Object.values(compose.services).some((s) => s.image === APP_IMAGE))
    return [`no service runs the application image ${APP_IMAGE}`];
  return [
    ...(await checkClusterProfile(
      await Bun.file(join(root, "docker-compose.yml")).text(),
      await Bun.file(join(root, CLUSTER_ENV_FILE)).text(),
      root,
      roles,
    )),
    ...checkServices(compose, roles),
    ...checkMounts(compose, root),
    ...(await checkNats(compose, root)),
    ...(await checkPrometheus(compose, root)),
    ...(await checkImage(root)),
  ];
}

/** The repository root (this file is scripts/compose/checks.ts). */
export const repositoryRoot = dirname(dirname(dirname(new URL(import.meta.url).pathname)));
