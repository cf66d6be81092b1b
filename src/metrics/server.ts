/**
 * The HTTP endpoints of a process: `/metrics` (Prometheus text format), `/healthz` (liveness: the process
 * answers) and `/readyz` (readiness: the `health` check passes). Processes without an HTTP port of their own
 * (worker, relay, consistency) serve them with {@link startMetricsServer} on `METRICS_PORT`; the gateway can
 * route the same paths of its HTTP port to {@link createMetricsHandler}.
 */
import type { Registry } from "prom-client";
import { withTimeout } from "./collect";

/** The answer of a readiness check. */
export interface HealthReport {
  readonly ok: boolean;
  readonly details?: Record<string, unknown>;
}

/** A readiness check (e.g. "leads or stands by", "Postgres answers"). */
export type HealthCheck = () => Promise<HealthReport>;

/** Options of {@link createMetricsHandler}. */
export interface MetricsHandlerOptions {
  readonly registry: Registry;
  /** Readiness; absent: ready as soon as the server answers. */
  readonly health?: HealthCheck;
  /** Longest a readiness check may take before the answer is 503, ms. Default 2000. */
  readonly healthTimeoutMs?: number;
}

/** Options of {@link startMetricsServer}. */
export interface MetricsServerOptions extends MetricsHandlerOptions {
  /** Port to listen on; 0 picks a free one (see {@link MetricsServer.port}). */
  readonly port: number;
  /** Interface to listen on. Default `0.0.0.0`. */
  readonly hostname?: string;
}

/** A running metrics server. */
export interface MetricsServer {
  /** The bound port. */
  readonly port: number;
  /** `http://<host>:<port>`. */
  readonly url: string;
  /** Stops listening (open scrapes are cut). */
  stop(): Promise<void>;
}

/** Answers `/metrics`, `/healthz` and `/readyz` (GET or HEAD); undefined for any other path. */
export function createMetricsHandler(
  options: MetricsHandlerOptions,
): (request: Request) => Promise<Response | undefined> {
  const timeoutMs = options.healthTimeoutMs ?? 2_000;
  return async (request) => {
    const { pathname } = new URL(request.url);
    if (pathname !== "/metrics" && pathname !== "/healthz" && pathname !== "/readyz") return undefined;
    if (request.method !== "GET" && request.method !== "HEAD") {
      return new Response("method not allowed\n", { status: 405, headers: { allow: "GET, HEAD" } });
    }
    if (pathname === "/metrics") {
      try {
        const body = await options.registry.metrics();
        return new Response(body, { headers: { "content-type": options.registry.contentType } });
      } catch (error) {
        return new Response(`metrics collection failed: ${String(error)}\n`, { status: 500 });
      }
    }
    if (pathname === "/healthz" || options.health === undefined) return json(200, { ok: true });
    let report: HealthReport;
    try {
      report = await withTimeout(options.health(), timeoutMs, "health check");
    } catch (error) {
      report = { ok: false, details: { error: error instanceof Error ? error.message : String(error) } };
    }
    return json(report.ok ? 200 : 503, report);
  };
}

/** Serves the metrics and health endpoints on their own port; resolves once listening. */
export async function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const handle = createMetricsHandler(options);
  const hostname = options.hostname ?? "0.0.0.0";
  const server = Bun.serve({
    port: options.port,
    hostname,
    async fetch(request) {
      return (await handle(request)) ?? new Response("not found\n", { status: 404 });
    },
  });
  const port = server.port;
  if (port === undefined) throw new Error("the metrics server has no port");
  const host = hostname === "0.0.0.0" ? "127.0.0.1" : hostname;
  return {
    port,
    url: `http://${host}:${port}`,
    async stop() {
      await server.stop(true);
    },
  };
}

function json(status: number, body: unknown): Response {
  return new Response(`${JSON.stringify(body)}\n`, {
    status,
    headers: { "content-type": "application/json" },
  });
}
