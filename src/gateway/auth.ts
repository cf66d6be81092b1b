/**
 * Authentication: who is calling. A bearer JWT (HS256 with the shared secret, or keys from a JWKS URL) with
 * claims `sub` and `role`. What the caller may do is decided by the handlers (see `permissions.ts`), which know
 * who owns what.
 */
import { createRemoteJWKSet, errors, type JWTPayload, jwtVerify, SignJWT } from "jose";
import type { Actor, Role } from "../commands/envelope";
import { AppError } from "../errors";
import type { Interceptor } from "./handler";

/** The roles a token may carry. */
export const actorRoles: readonly Role[] = ["user", "service", "admin"];

/** Services that need no token. */
export const defaultPublicServices: readonly string[] = [
  "grpc.health.v1.Health",
  "grpc.reflection.v1.ServerReflection",
  "grpc.reflection.v1alpha.ServerReflection",
];

/** Verifies the bearer token of a call. */
export interface Authenticator {
  /** The caller of a call with these (lower-cased) headers; rejects with UNAUTHENTICATED. */
  authenticate(headers: ReadonlyMap<string, string>): Promise<Actor>;
}

/** Options of {@link createAuthenticator}. */
export interface AuthenticatorOptions {
  /** HS256 secret (`AUTH_JWT_SECRET`); used unless `jwksUrl` is set. */
  readonly jwtSecret: string;
  /** When set, tokens are verified with the keys published there instead of the secret. */
  readonly jwksUrl?: string | undefined;
}

/** Creates an {@link Authenticator} for HS256 tokens, or for tokens signed with keys from a JWKS URL. */
export function createAuthenticator(options: AuthenticatorOptions): Authenticator {
  const jwks = options.jwksUrl === undefined ? undefined : createRemoteJWKSet(new URL(options.jwksUrl));
  const secret = secretKey(options.jwtSecret);
  const verify = (token: string) =>
    jwks === undefined ? jwtVerify(token, secret, { algorithms: ["HS256"] }) : jwtVerify(token, jwks);
  return {
    async authenticate(headers) {
      const token = bearerToken(headers.get("authorization"));
      let payload: JWTPayload;
      try {
        ({ payload } = await verify(token));
      } catch (error) {
        throw verificationError(error, jwks !== undefined);
      }
      return actorFromClaims(payload);
    },
  };
}

function secretKey(secret: string): Uint8Array {
  return new TextEncoder().encode(secret);
}

function bearerToken(header: string | undefined): string {
  if (header === undefined || header.trim() === "") {
    throw new AppError("UNAUTHENTICATED", "missing token: send `authorization: Bearer <JWT>` metadata");
  }
  const match = /^Bearer\s+([A-Za-z0-9_.~+/=-]+)\s*$/i.exec(header.trim());
  if (match?.[1] === undefined) {
    throw new AppError("UNAUTHENTICATED", "malformed authorization header: expected `Bearer <JWT>`");
  }
  return match[1];
}

function verificationError(error: unknown, remoteKeys: boolean): AppError {
  const unauthenticated = (message: string) => new AppError("UNAUTHENTICATED", message, { cause: error });
  if (error instanceof errors.JWTExpired) return unauthenticated("token expired");
  if (error instanceof errors.JWSSignatureVerificationFailed) return unauthenticated("bad token signature");
  if (error instanceof errors.JWTClaimValidationFailed) {
    return unauthenticated(`bad token claim "${error.claim}": ${error.message}`);
  }
  if (error instanceof errors.JOSEAlgNotAllowed) return unauthenticated("token algorithm not allowed");
  if (error instanceof errors.JWKSNoMatchingKey) return unauthenticated("no known key matches the token");
  if (remoteKeys && (error instanceof errors.JWKSTimeout || !(error instanceof errors.JOSEError))) {
    // The key set could not be fetched: our problem, not the caller's.
    return new AppError("UNAVAILABLE", "cannot fetch the keys to verify the token", { cause: error });
  }
  return unauthenticated("malformed token");
}

function actorFromClaims(payload: JWTPayload): Actor {
  const { sub, role } = payload;
  if (typeof sub !== "string" || sub === "") {
    throw new AppError("UNAUTHENTICATED", 'bad token claims: "sub" must be a non-empty string');
  }
  if (typeof role !== "string" || !actorRoles.includes(role as Role)) {
    throw new AppError("UNAUTHENTICATED", `bad token claims: "role" must be one of ${actorRoles.join(", ")}`);
  }
  return { sub, role: role as Role };
}

/** Options of {@link mintToken}. */
export interface MintTokenOptions {
  readonly sub: string;
  readonly role: Role;
  /** HS256 secret. */
  readonly secret: string;
  /** Lifetime: seconds (negative for an already expired token) or a jose span such as "2h"; default "1h". */
  readonly expiresIn?: number | string;
}

/** Signs an HS256 token with `sub`, `role`, `iat` and `exp`, for tests and the admin CLI. */
export function mintToken(options: MintTokenOptions): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const expiresIn = options.expiresIn ?? "1h";
  return new SignJWT({ role: options.role })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(options.sub)
    .setIssuedAt(now)
    .setExpirationTime(typeof expiresIn === "number" ? now + expiresIn : expiresIn)
    .sign(secretKey(options.secret));
}

/** Options of {@link authInterceptor}. */
export interface AuthInterceptorOptions {
  /** Services callable without a token; default {@link defaultPublicServices}. */
  readonly publicServices?: readonly string[];
}

/** Authenticates every call (unary and streaming) except to public services, and sets `ctx.actor`. */
export function authInterceptor(
  authenticator: Authenticator,
  options: AuthInterceptorOptions = {},
): Interceptor {
  const publicServices = new Set(options.publicServices ?? defaultPublicServices);
  return (next) => async (request, ctx) => {
    if (!publicServices.has(ctx.service)) ctx.actor = await authenticator.authenticate(ctx.headers);
    return next(request, ctx);
  };
}
