/**
 * CORS for browsers calling gRPC-web and Connect from another origin: the header lists of connect-es
 * (`cors` from @connectrpc/connect) plus `authorization`, answered preflights, and exposed gRPC status
 * headers so that a gRPC-web client can read `grpc-status`, `grpc-message` and `grpc-status-details-bin`.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { cors as connectCors } from "@connectrpc/connect";

/** Headers a browser may send: connect-es' list and the bearer token. */
export const corsAllowedHeaders: readonly string[] = [...connectCors.allowedHeaders, "Authorization"];

/** Headers a browser may read: connect-es' list (grpc-status, grpc-message, grpc-status-details-bin, ...). */
export const corsExposedHeaders: readonly string[] = [...connectCors.exposedHeaders];

/** How long a browser may cache a preflight answer, seconds. */
const preflightMaxAgeSeconds = 7200;

/** A CORS policy: which origins may call (`*` for any). */
export interface CorsPolicy {
  /**
   * Adds the CORS headers for the request's origin to the response; answers a preflight (OPTIONS with
   * `Access-Control-Request-Method`) itself and returns true then, so the caller stops there.
   */
  handle(req: IncomingMessage, res: ServerResponse): boolean;
}

/** Creates the policy for the configured origins (`CORS_ORIGINS`, comma separated; `*` allows any). */
export function createCorsPolicy(origins: readonly string[]): CorsPolicy {
  const any = origins.includes("*");
  const allowed = new Set(origins.map((o) => o.replace(/\/+$/, "").toLowerCase()));
  const allowOrigin = (origin: string | undefined): string | undefined => {
    if (origin === undefined) return undefined;
    if (any) return "*";
    return allowed.has(origin.toLowerCase()) ? origin : undefined;
  };
  return {
    handle(req, res) {
      const origin = headerValue(req.headers.origin);
      const allowedOrigin = allowOrigin(origin);
      if (!any) res.setHeader("Vary", "Origin");
      const preflight =
        req.method === "OPTIONS" && req.headers["access-control-request-method"] !== undefined;
      if (allowedOrigin !== undefined) {
        res.setHeader("Access-Control-Allow-Origin", allowedOrigin);
        if (!preflight) res.setHeader("Access-Control-Expose-Headers", corsExposedHeaders.join(", "));
      }
      if (!preflight) return false;
      if (allowedOrigin !== undefined) {
        res.setHeader("Access-Control-Allow-Methods", connectCors.allowedMethods.join(", "));
        res.setHeader("Access-Control-Allow-Headers", corsAllowedHeaders.join(", "));
        res.setHeader("Access-Control-Max-Age", String(preflightMaxAgeSeconds));
      }
      // A refused origin gets a 204 without allow headers: the browser then blocks the call.
      res.writeHead(204, { "Content-Length": "0" });
      res.end();
      return true;
    },
  };
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
