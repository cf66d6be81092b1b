/**
 * Authentication: who is calling. A bearer JWT (HS256 with the shared secret, or keys from a JWKS URL) with
 * claims `sub` and `role`. What the caller may do is decided by the handlers (see `permissions.ts`), which know
 * who owns what.
 *
 * Verifying a token (key import, HMAC or signature, claims) costs more than the rest of a command's work at the
 * gateway, and a client sends the same token with every call. So a verified token is remembered, keyed by the
 * whole `authorization` header, until it expires (exactly when jose would start refusing it): a bounded LRU.
 * Only successes are remembered; a token seen again after its `exp` is verified afresh (and refused). With a
 * JWKS, a remembered token is re-verified after at most {@link jwksCacheTtlMs}, so a key withdrawn from the
 * set stops working within that time.
 */
import { createRemoteJWKSet, errors, type JWTPayload, jwtVerify, SignJWT } from "jose";
import type { Actor, Role } from "../contracts";
import { AppError } from "../errors";
import { LruMap } from "../lru/lru-map";
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
  /**
   * The caller, at once, when its token was verified before and is still valid (what `authenticate` would
   * resolve with); undefined when it must be verified (or refused) by `authenticate`.
   */
  remembered(headers: ReadonlyMap<string, string>): Actor | undefined;
}

/** Options of {@link createAuthenticator}. */
export interface AuthenticatorOptions {
  /** HS256 secret (`AUTH_JWT_SECRET`); used unless `jwksUrl` is set. */
  readonly jwtSecret: string;
  /** When set, tokens are verified with the keys published there instead of the secret. */
  readonly jwksUrl?: string | undefined;
  /** How many verified tokens to remember (LRU); 0 verifies every call. Default {@link defaultTokenCacheSize}. */
  readonly cacheSize?: number;
  /** The clock, epoch milliseconds (tests). */
  readonly now?: () => number;
}

/** Verified tokens remembered by default: far more than the clients one gateway serves at a time. */
export const defaultTokenCacheSize = 10_000;
/** With a JWKS, how long a verified token is trusted before its signature is checked again. */
export const jwksCacheTtlMs = 60_000;

interface VerifiedToken {
  readonly actor: Actor;
  /** Epoch milliseconds from which the entry must not be used. */
  readonly validUntilMs: number;
  /** The `exp` claim, if any: once `floor(now / 1000) >= exp` jose refuses the token. */
  readonly exp: number | undefined;
}

/** Creates an {@link Authenticator} for HS256 tokens, or for tokens signed with keys from a JWKS URL. */
export function createAuthenticator(options: AuthenticatorOptions): Authenticator {
  const jwks = options.jwksUrl === undefined ? undefined : createRemoteJWKSet(new URL(options.jwksUrl));
  const secret = secretKey(options.jwtSecret);
  const now = options.now ?? Date.now;
  const cacheSize = options.cacheSize ?? defaultTokenCacheSize;
  const verified = new LruMap<string, VerifiedToken>(Math.max(0, cacheSize));
  const verify = (token: string) =>
    jwks === undefined
      ? jwtVerify(token, secret, { algorithms: ["HS256"], currentDate: new Date(now()) })
      : jwtVerify(token, jwks, { currentDate: new Date(now()) });

  /** The remembered actor of this header, if it is still valid; refreshes its place in the LRU. */
  const remembered = (header: string): Actor | undefined => {
    const entry = verified.get(header);
    if (entry === undefined) return undefined;
    const t = now();
    if (t >= entry.validUntilMs || (entry.exp !== undefined && Math.floor(t / 1000) >= entry.exp)) {
      verified.delete(header);
      return undefined;
    }
    return entry.actor;
  };

  const remember = (header: string, actor: Actor, payload: JWTPayload, verifiedAt: number): void => {
    if (cacheSize <= 0) return;
    const exp = typeof payload.exp === "number" ? payload.exp : undefined;
    const validUntilMs = jwks === undefined ? Number.POSITIVE_INFINITY : verifiedAt + jwksCacheTtlMs;
    verified.set(header, { actor, validUntilMs, exp });
  };

  return {
    remembered(headers) {
      const header = headers.get("authorization");
      return header === undefined ? undefined : remembered(header);
    },
    async authenticate(headers) {
      const header = headers.get("authorization");
      if (header !== undefined) {
        const actor = remembered(header);
        if (actor !== undefined) return actor;
      }
      const token = bearerToken(header);
      const verifiedAt = now();
      let payload: JWTPayload;
      try {
        ({ payload } = await verify(token));
      } catch (error) {
        throw verificationError(error, jwks !== undefined);
      }
      const actor = actorFromClaims(payload);
      remember(header as string, actor, payload, verifiedAt);
      return actor;
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
  return Object.freeze({ sub, role: role as Role });
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

/**
 * Authenticates every call (unary and streaming) except to public services, and sets `ctx.actor`. A caller whose
 * token is remembered goes on at once, without a layer of its own (most calls: a client sends the same token).
 */
export function authInterceptor(
  authenticator: Authenticator,
  options: AuthInterceptorOptions = {},
): Interceptor {
  const publicServices = new Set(options.publicServices ?? defaultPublicServices);
  return (next) => (request, ctx) => {
    if (publicServices.has(ctx.service)) return next(request, ctx);
    const known = authenticator.remembered(ctx.headers);
    if (known !== undefined) {
      ctx.actor = known;
      return next(request, ctx);
    }
    return authenticator.authenticate(ctx.headers).then((actor) => {
      ctx.actor = actor;
      return next(request, ctx);
    });
  };
}
