/**
 * Reading docker-compose.yml as compose does: YAML with anchors and merge keys (Bun.YAML), then `${VAR}`,
 * `${VAR:-default}`, `${VAR-default}`, `${VAR:?message}` and `$$` interpolated from an environment.
 */
import { join } from "node:path";

/** The parts of a compose service these checks read. */
export interface ComposeService {
  readonly image?: string;
  readonly build?: string | { readonly context?: string };
  readonly command?: readonly string[] | string;
  readonly environment?: Readonly<Record<string, string | number | boolean | null>> | readonly string[];
  readonly depends_on?: readonly string[] | Readonly<Record<string, { readonly condition?: string }>>;
  readonly healthcheck?: { readonly test?: readonly string[] | string; readonly disable?: boolean };
  readonly ports?: readonly (string | number)[];
  readonly volumes?: readonly string[];
  readonly restart?: string;
  readonly container_name?: string;
  /** The profiles that enable it (none: always enabled). */
  readonly profiles?: readonly string[];
}

/** A compose file. */
export interface ComposeFile {
  readonly services: Readonly<Record<string, ComposeService>>;
  readonly volumes?: Readonly<Record<string, unknown>>;
}

/** The image every app service runs (built from the Dockerfile). */
export const APP_IMAGE = "clone-cqrs:local";

/** Interpolates compose variables in one string. */
export function interpolate(text: string, env: Readonly<Record<string, string | undefined>>): string {
  return text.replace(
    /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?)([-?])([^}]*))?\}/g,
    (match, name?: string, colon?: string, op?: string, arg?: string) => {
      if (match === "$$") return "$";
      const value = env[name as string];
      const missing = value === undefined || (colon === ":" && value === "");
      if (op === "-") return missing ? (arg ?? "") : (value as string);
      if (op === "?") {
        if (missing) throw new Error(`compose variable ${name} is required: ${arg}`);
        return value as string;
      }
      return value ?? "";
    },
  );
}

function interpolateAll(value: unknown, env: Readonly<Record<string, string | undefined>>): unknown {
  if (typeof value === "string") return interpolate(value, env);
  if (Array.isArray(value)) return value.map((v) => interpolateAll(v, env));
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolateAll(v, env)]));
  }
  return value;
}

/** Parses compose YAML text and interpolates it (an empty environment: every default applies). */
export function parseCompose(
  text: string,
  env: Readonly<Record<string, string | undefined>> = {},
): ComposeFile {
  const doc = Bun.YAML.parse(text) as { services?: unknown };
  if (doc === null || typeof doc !== "object" || typeof doc.services !== "object" || doc.services === null)
    throw new Error("docker-compose.yml has no services");
  return interpolateAll(doc, env) as ComposeFile;
}

/** Reads `docker-compose.yml` of the repository at `root`. */
export async function loadCompose(root: string, env: Readonly<Record<string, string | undefined>> = {}) {
  return parseCompose(await Bun.file(join(root, "docker-compose.yml")).text(), env);
}

/** A service's environment as a map of strings. */
export function environmentOf(service: ComposeService): Record<string, string> {
  const env = service.environment ?? {};
  if (Array.isArray(env)) {
    return Object.fromEntries(
      env.map((entry: string) => {
        const i = entry.indexOf("=");
        return i < 0 ? [entry, ""] : [entry.slice(0, i), entry.slice(i + 1)];
      }),
    );
  }
  return Object.fromEntries(
    Object.entries(env as Record<string, unknown>).map(([k, v]) => [k, v === null ? "" : String(v)]),
  );
}

/** A service's command as an argument list (compose splits a string command on spaces). */
export function commandOf(service: ComposeService): string[] {
  const c = service.command;
  if (c === undefined) return [];
  return typeof c === "string" ? c.split(/\s+/).filter((s) => s !== "") : [...c];
}

/** The services depended on, with their conditions (`service_started` when none is given). */
export function dependenciesOf(service: ComposeService): Record<string, string> {
  const d = service.depends_on ?? {};
  if (Array.isArray(d)) return Object.fromEntries(d.map((name: string) => [name, "service_started"]));
  return Object.fromEntries(
    Object.entries(d as Record<string, { condition?: string }>).map(([k, v]) => [
      k,
      v?.condition ?? "service_started",
    ]),
  );
}

/** The names of the services that run the application image. */
export function appServices(compose: ComposeFile): string[] {
  return Object.entries(compose.services)
    .filter(([, s]) => s.image === APP_IMAGE)
    .map(([name]) => name);
}

/**
 * The environment as seen from this machine: URLs that name a compose service (postgres, nats) point at
 * 127.0.0.1 instead, on the same port (each URL of a comma-separated list, as NATS_URL may be).
 */
export function localEnvironment(env: Record<string, string>, serviceNames: readonly string[]) {
  const names = new Set(serviceNames);
  const local = (v: string): string => {
    const url = new URL(v);
    if (names.has(url.hostname)) url.hostname = "127.0.0.1";
    return url.toString();
  };
  return Object.fromEntries(
    Object.entries(env).map(([k, v]) => {
      if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(v)) return [k, v];
      return [
        k,
        v
          .split(",")
          .map((part) => local(part.trim()))
          .join(","),
      ];
    }),
  );
}

/** Reads an env file (`KEY=VALUE` lines; `#` comments and blank lines skipped), as `--env-file` does. */
export function parseEnvFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const trimmed = line.trim();
    if (trimmed === "" || trimmed.startsWith("#")) continue;
    const i = trimmed.indexOf("=");
    if (i > 0) env[trimmed.slice(0, i).trim()] = trimmed.slice(i + 1).trim();
  }
  return env;
}
