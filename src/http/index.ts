/** The gateway's HTTP/1.1 port (gRPC-web, Connect, /metrics, /healthz, /readyz) and both ports together. */
export type { CorsPolicy } from "./cors";
export { corsAllowedHeaders, corsExposedHeaders, createCorsPolicy } from "./cors";
export type { GatewayServers, GatewayServersOptions } from "./gateway-servers";
export { createGatewayServers } from "./gateway-servers";
export type { HttpGateway, HttpGatewayOptions, MetricsSource } from "./server";
export { createHttpGateway } from "./server";
