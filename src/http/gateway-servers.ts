/**
 * The two ports of a gateway over one set of services and one interceptor chain: gRPC (HTTP/2, grpc-js) with
 * health and server reflection, and HTTP/1.1 (gRPC-web, Connect, `/metrics`, `/healthz`, `/readyz`).
 * Used by the gateway role and the embedded mode alike.
 */
import type { Server } from "@grpc/grpc-js";
import {
  addReflectionService,
  bindGrpcServer,
  createGrpcServer,
  createReflection,
  type GatewayLogger,
  type Interceptor,
  type ServiceRegistration,
  shutdownGrpcServer,
} from "../gateway";
import { createHealthService, type HealthMonitor } from "../health";
import { createHttpGateway, type HttpGateway, type MetricsSource } from "./server";

/** Options of {@link createGatewayServers}. */
export interface GatewayServersOptions {
  /** The API's services (CommandService, QueryService); health is added when `health` is given. */
  readonly services: readonly ServiceRegistration[];
  /** Run around every call on both ports, first = outermost. */
  readonly interceptors: readonly Interceptor[];
  readonly maxReceiveMessageBytes: number;
  /** Origins allowed on the HTTP port (`CORS_ORIGINS`). */
  readonly corsOrigins: readonly string[];
  /** Serves `grpc.health.v1.Health` on both ports and `/readyz`. */
  readonly health?: HealthMonitor;
  /** Serves `/metrics`. */
  readonly metrics?: MetricsSource;
  readonly log?: GatewayLogger;
}

/** A gateway's servers, not yet listening. */
export interface GatewayServers {
  readonly grpc: Server;
  readonly http: HttpGateway;
  /** Binds both; port 0 picks a free one. Resolves with the bound ports. */
  listen(
    host: string,
    ports: { grpc: number; http: number },
  ): Promise<{ grpcPort: number; httpPort: number }>;
  /** Health goes NOT_SERVING (watchers hear it), then both servers stop, running calls given `graceMs`. */
  close(graceMs?: number): Promise<void>;
}

/** Builds both servers over the same services and interceptors. */
export function createGatewayServers(options: GatewayServersOptions): GatewayServers {
  const services = options.health
    ? [...options.services, createHealthService(options.health)]
    : [...options.services];
  const grpc = createGrpcServer({
    services,
    interceptors: options.interceptors,
    maxReceiveMessageBytes: options.maxReceiveMessageBytes,
    ...(options.log ? { log: options.log } : {}),
  });
  addReflectionService(grpc, createReflection({ services: services.map((s) => s.service) }));
  const http = createHttpGateway({
    services,
    interceptors: options.interceptors,
    corsOrigins: options.corsOrigins,
    maxReceiveMessageBytes: options.maxReceiveMessageBytes,
    ...(options.health ? { readiness: options.health.readiness } : {}),
    ...(options.metrics ? { metrics: options.metrics } : {}),
    ...(options.log ? { log: options.log } : {}),
  });
  let closing: Promise<void> | undefined;
  return {
    grpc,
    http,
    async listen(host, ports) {
      const grpcPort = await bindGrpcServer(grpc, host, ports.grpc);
      try {
        const httpPort = await http.listen(host, ports.http);
        return { grpcPort, httpPort };
      } catch (error) {
        grpc.forceShutdown(); // both ports or neither
        throw error;
      }
    },
    close(graceMs = 5_000) {
      closing ??= (async () => {
        await options.health?.stop();
        await Promise.all([http.close(graceMs), shutdownGrpcServer(grpc, graceMs)]);
      })();
      return closing;
    },
  };
}
