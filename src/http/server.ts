/**
 * The gateway's HTTP/1.1 port (`HTTP_PORT`): gRPC-web and the Connect protocol for the same services and
 * interceptors as the gRPC port (connect-node's adapter over `connectRoutes`), CORS for browsers, and the
 * operational endpoints `/metrics` (Prometheus text), `/healthz` (the process is alive) and `/readyz` (its
 * backing services are reachable).
 *
 * It runs on `node:http`, which Bun implements; connect-node's adapter is written for it.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Code, ConnectError } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import {
  connectRoutes,
  type GatewayLogger,
  type Interceptor,
  requestErrorGate,
  type ServiceRegistration,
} from "../gateway";
import type { ReadinessReport } from "../health";
import { createCorsPolicy } from "./cors";

/** Renders the metrics registry (prom-client's `register.metrics()` with its `contentType`). */
export type MetricsSource = () => Promise<{ readonly contentType: string; readonly body: string }>;

/** Options of {@link createHttpGateway}. */
export interface HttpGatewayOptions {
  /** Served over gRPC-web and Connect: the same registrations as the gRPC server. */
  readonly services: readonly ServiceRegistration[];
  /** The gRPC server's interceptor chain (first = outermost). */
  readonly interceptors?: readonly Interceptor[];
  /** Origins allowed to call from a browser (`CORS_ORIGINS`); `*` allows any. */
  readonly corsOrigins: readonly string[];
  /** Larger request messages are refused with INVALID_ARGUMENT, as on the gRPC port. */
  readonly maxReceiveMessageBytes: number;
  /** Serves `/metrics`; without it `/metrics` answers 404. */
  readonly metrics?: MetricsSource;
  /** Answers `/readyz`; without it the gateway is always ready. */
  readonly readiness?: () => ReadinessReport | Promise<ReadinessReport>;
  readonly log?: GatewayLogger;
}

/** The HTTP side of a gateway. */
export interface HttpGateway {
  /** The node:http server (not listening until {@link HttpGateway.listen}). */
  readonly server: Server;
  /** Listens on host:port (0 picks a free port); resolves with the bound port. */
  listen(host: string, port: number): Promise<number>;
  /**
   * Stops accepting connections, lets running unary calls finish (up to `graceMs`), then ends running streams
   * (UNAVAILABLE to the client) and closes what is left. Safe to call twice.
   */
  close(graceMs?: number): Promise<void>;
}

/** Creates the HTTP gateway; call `listen` to serve. */
export function createHttpGateway(options: HttpGatewayOptions): HttpGateway {
  const shutdown = new AbortController();
  const rpc = connectNodeAdapter({
    routes: connectRoutes({
      services: options.services,
      ...(options.interceptors ? { interceptors: options.interceptors } : {}),
      ...(options.log ? { log: options.log } : {}),
    }),
    readMaxBytes: options.maxReceiveMessageBytes,
    writeMaxBytes: options.maxReceiveMessageBytes,
    // Requests connect cannot read are INVALID_ARGUMENT, in the words of the gRPC port.
    requestGate: requestErrorGate(options.maxReceiveMessageBytes),
    // Protobuf's JSON rule: an unknown field or enum name is an error (connect would drop it, reading an
    // unknown `status` filter as "all").
    jsonOptions: { ignoreUnknownFields: false },
    shutdownSignal: shutdown.signal,
    fallback: (_req, res) => {
      res.writeHead(404, { "Content-Type": "text/plain; charset=utf-8" });
      res.end("not found\n");
    },
  });
  const cors = createCorsPolicy(options.corsOrigins);
  // Unary calls in flight: a graceful close lets them finish; streams never end by themselves, so they are
  // ended (UNAVAILABLE) once the unary calls are done.
  const streamingPaths = new Set(
    options.services.flatMap((r) =>
      r.service.methods
        .filter((m) => m.methodKind !== "unary")
        .map((m) => `/${r.service.typeName}/${m.name}`),
    ),
  );
  let unaryInFlight = 0;
  let unaryDrained: (() => void) | undefined;

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? "/").split("?", 1)[0];
    if (req.method === "GET" || req.method === "HEAD") {
      switch (path) {
        case "/healthz":
          return sendText(res, 200, "ok\n");
        case "/readyz":
          return sendReadiness(
            res,
            options.readiness ? await options.readiness() : { ready: true, checks: {} },
          );
        case "/metrics": {
          if (!options.metrics) return sendText(res, 404, "metrics are not enabled\n");
          const { contentType, body } = await options.metrics();
          res.writeHead(200, { "Content-Type": contentType, "Cache-Control": "no-store" });
          res.end(body);
          return;
        }
      }
    }
    if (cors.handle(req, res)) return;
    if (path !== undefined && !streamingPaths.has(path)) {
      unaryInFlight++;
      res.once("close", () => {
        unaryInFlight--;
        if (unaryInFlight === 0) unaryDrained?.();
      });
    }
    rpc(req, res);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      options.log?.error({ err: error, url: req.url }, "http request failed");
      if (!res.headersSent) sendText(res, 500, "internal error\n");
      else res.destroy();
    });
  });

  let closing: Promise<void> | undefined;
  return {
    server,
    listen(host, port) {
      return new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, host, () => {
          server.off("error", reject);
          resolve((server.address() as AddressInfo).port);
        });
      });
    },
    close(graceMs = 5_000) {
      closing ??= (async () => {
        if (!server.listening) return;
        // Stop accepting; let the unary calls in flight finish (up to the grace), then end the streams.
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        const deadline = Date.now() + graceMs;
        if (unaryInFlight > 0) {
          await Promise.race([
            new Promise<void>((resolve) => {
              unaryDrained = resolve;
            }),
            Bun.sleep(graceMs),
          ]);
        }
        shutdown.abort(new ConnectError("the server is shutting down", Code.Unavailable));
        server.closeIdleConnections();
        await Promise.race([closed, Bun.sleep(Math.max(0, deadline - Date.now()))]);
        server.closeAllConnections();
      })();
      return closing;
    },
  };
}

function sendText(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { "Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store" });
  res.end(text);
}

/** 200 with the checks when ready, 503 naming what is down otherwise; JSON either way. */
function sendReadiness(res: ServerResponse, report: ReadinessReport): void {
  const down = Object.entries(report.checks)
    .filter(([, check]) => !check.up)
    .map(([name]) => name);
  const body = { status: report.ready ? "ready" : "not ready", down, checks: report.checks };
  res.writeHead(report.ready ? 200 : 503, {
    "Content-Type": "application/json; charset=utf-8",
    "Cache-Control": "no-store",
  });
  res.end(`${JSON.stringify(body)}\n`);
}
