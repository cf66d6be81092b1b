import { describe, expect, test } from "bun:test";
import { SignJWT } from "jose";
import { AppError } from "../errors";
import { authInterceptor, createAuthenticator, mintToken } from "./auth";
import { createCallContext } from "./call-context";
import type { Next } from "./handler";
import { isPrivileged, requireActor } from "./permissions";

const secret = "unit-test-secret-0123456789abcdef";
const authenticator = createAuthenticator({ jwtSecret: secret });
const bearer = (token: string) => new Map([["authorization", `Bearer ${token}`]]);

async function rejection(promise: Promise<unknown>): Promise<AppError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error;
  }
  throw new Error("expected a rejection");
}

function thrown(fn: () => unknown): AppError {
  try {
    fn();
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error;
  }
  throw new Error("expected a throw");
}

describe("authenticate", () => {
  test("a valid token gives its actor", async () => {
    const token = await mintToken({ sub: "user-1", role: "user", secret });
    expect(await authenticator.authenticate(bearer(token))).toEqual({ sub: "user-1", role: "user" });
  });

  test("the scheme is case-insensitive", async () => {
    const token = await mintToken({ sub: "svc", role: "service", secret });
    const actor = await authenticator.authenticate(new Map([["authorization", `bearer ${token}`]]));
    expect(actor).toEqual({ sub: "svc", role: "service" });
  });

  test("missing token", async () => {
    const error = await rejection(authenticator.authenticate(new Map()));
    expect(error.code).toBe("UNAUTHENTICATED");
    expect(error.message).toContain("missing token");
  });

  test.each(["Basic dXNlcjpwYXNz", "Bearer", "Bearer a b", "token"])(
    "malformed header %p",
    async (header) => {
      const error = await rejection(authenticator.authenticate(new Map([["authorization", header]])));
      expect(error.code).toBe("UNAUTHENTICATED");
      expect(error.message).toContain("malformed authorization header");
    },
  );

  test("a token that is not a JWT", async () => {
    const error = await rejection(authenticator.authenticate(bearer("not.a.jwt")));
    expect(error.code).toBe("UNAUTHENTICATED");
    expect(error.message).toBe("malformed token");
  });

  test("bad signature", async () => {
    const token = await mintToken({ sub: "user-1", role: "user", secret: "another-secret-0123456789abcdef" });
    const error = await rejection(authenticator.authenticate(bearer(token)));
    expect(error.code).toBe("UNAUTHENTICATED");
    expect(error.message).toBe("bad token signature");
  });

  test("expired", async () => {
    const token = await mintToken({ sub: "user-1", role: "user", secret, expiresIn: -60 });
    const error = await rejection(authenticator.authenticate(bearer(token)));
    expect(error.code).toBe("UNAUTHENTICATED");
    expect(error.message).toBe("token expired");
  });

  test("wrong role", async () => {
    const token = await sign({ sub: "user-1", role: "root" });
    const error = await rejection(authenticator.authenticate(bearer(token)));
    expect(error.code).toBe("UNAUTHENTICATED");
    expect(error.message).toContain('"role" must be one of user, service, admin');
  });

  test("missing or empty sub", async () => {
    for (const claims of [{ role: "user" }, { role: "user", sub: "" }]) {
      const error = await rejection(authenticator.authenticate(bearer(await sign(claims))));
      expect(error.code).toBe("UNAUTHENTICATED");
      expect(error.message).toContain('"sub" must be a non-empty string');
    }
  });

  test("another algorithm than HS256 is refused", async () => {
    const token = await new SignJWT({ sub: "user-1", role: "user" })
      .setProtectedHeader({ alg: "HS512" })
      .setExpirationTime("1h")
      .sign(new TextEncoder().encode(secret));
    const error = await rejection(authenticator.authenticate(bearer(token)));
    expect(error.code).toBe("UNAUTHENTICATED");
  });
});

describe("verified-token cache", () => {
  /** An authenticator on a clock the test moves. */
  function onClock(startMs: number, cacheSize?: number) {
    let t = startMs;
    const auth = createAuthenticator({
      jwtSecret: secret,
      now: () => t,
      ...(cacheSize === undefined ? {} : { cacheSize }),
    });
    return { auth, set: (ms: number) => (t = ms) };
  }
  const at = (seconds: number) => seconds * 1000;
  const signAt = (claims: Record<string, unknown>, exp: number, key = secret) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: "HS256" })
      .setExpirationTime(exp)
      .sign(new TextEncoder().encode(key));

  test("a token is refused from the second its exp names, remembered or not", async () => {
    const start = Math.floor(Date.now() / 1000);
    const token = await signAt({ sub: "user-1", role: "user" }, start + 10);
    const { auth, set } = onClock(at(start));
    const first = await auth.authenticate(bearer(token));
    expect(first).toEqual({ sub: "user-1", role: "user" });
    set(at(start + 9) + 999);
    expect(await auth.authenticate(bearer(token))).toBe(first);
    set(at(start + 10));
    const error = await rejection(auth.authenticate(bearer(token)));
    expect(error.message).toBe("token expired");
    // Not remembered as valid again.
    expect((await rejection(auth.authenticate(bearer(token)))).message).toBe("token expired");
  });

  test("failures are not remembered, and a bad token never hits a good one's entry", async () => {
    const start = Math.floor(Date.now() / 1000);
    const { auth } = onClock(at(start));
    const good = await signAt({ sub: "user-1", role: "user" }, start + 60);
    const forged = await signAt(
      { sub: "user-1", role: "user" },
      start + 60,
      "another-secret-0123456789abcdef",
    );
    await auth.authenticate(bearer(good));
    for (let i = 0; i < 2; i++) {
      expect((await rejection(auth.authenticate(bearer(forged)))).message).toBe("bad token signature");
    }
    const badRole = await signAt({ sub: "user-1", role: "root" }, start + 60);
    for (let i = 0; i < 2; i++) {
      expect((await rejection(auth.authenticate(bearer(badRole)))).code).toBe("UNAUTHENTICATED");
    }
    expect(await auth.authenticate(bearer(good))).toEqual({ sub: "user-1", role: "user" });
  });

  test("the cache is bounded: the least recently used token is verified again", async () => {
    const start = Math.floor(Date.now() / 1000);
    const { auth, set } = onClock(at(start), 2);
    const tokens = await Promise.all(["a", "b", "c"].map((sub) => signAt({ sub, role: "user" }, start + 5)));
    const [a, b, c] = tokens as [string, string, string];
    const actorA = await auth.authenticate(bearer(a));
    await auth.authenticate(bearer(b));
    expect(await auth.authenticate(bearer(a))).toBe(actorA); // a is now the most recent
    await auth.authenticate(bearer(c)); // evicts b
    expect(await auth.authenticate(bearer(a))).toBe(actorA);
    const actorB = await auth.authenticate(bearer(b));
    expect(actorB).toEqual({ sub: "b", role: "user" });
    // Past exp every one of them is refused, evicted or not.
    set(at(start + 5));
    for (const token of tokens) {
      expect((await rejection(auth.authenticate(bearer(token)))).message).toBe("token expired");
    }
  });

  test("remembered: the actor at once once its token was verified, until its exp; never for a failure", async () => {
    const start = Math.floor(Date.now() / 1000);
    const { auth, set } = onClock(at(start));
    const token = await signAt({ sub: "user-1", role: "user" }, start + 10);
    expect(auth.remembered(bearer(token))).toBeUndefined();
    expect(auth.remembered(new Map())).toBeUndefined();
    const actor = await auth.authenticate(bearer(token));
    expect(auth.remembered(bearer(token))).toBe(actor);
    const forged = await signAt(
      { sub: "user-1", role: "user" },
      start + 10,
      "another-secret-0123456789abcdef",
    );
    await rejection(auth.authenticate(bearer(forged)));
    expect(auth.remembered(bearer(forged))).toBeUndefined();
    set(at(start + 10));
    expect(auth.remembered(bearer(token))).toBeUndefined();
    expect((await rejection(auth.authenticate(bearer(token)))).message).toBe("token expired");
  });

  test("remembered actors cannot be changed by a caller", async () => {
    const token = await mintToken({ sub: "user-1", role: "user", secret });
    const actor = await authenticator.authenticate(bearer(token));
    expect(Object.isFrozen(actor)).toBe(true);
  });
});

describe("authInterceptor", () => {
  const echo: Next<string, string> = async (request, ctx) => ({
    kind: "unary",
    message: `${request}:${ctx.actor?.sub ?? "anonymous"}`,
  });
  const intercepted = authInterceptor(authenticator)(echo);
  const context = (service: string, headers = new Map<string, string>()) =>
    createCallContext({ service, method: "M", kind: "unary", headers, deadline: undefined }).ctx;

  test("sets ctx.actor", async () => {
    const token = await mintToken({ sub: "user-7", role: "user", secret });
    const response = await intercepted("hi", context("clone.v1.CommandService", bearer(token)));
    expect(response).toEqual({ kind: "unary", message: "hi:user-7" });
  });

  test("refuses calls without a token", async () => {
    const error = await rejection(intercepted("hi", context("clone.v1.QueryService")));
    expect(error.code).toBe("UNAUTHENTICATED");
  });

  test("lets health checks through without a token", async () => {
    const response = await intercepted("ping", context("grpc.health.v1.Health"));
    expect(response).toEqual({ kind: "unary", message: "ping:anonymous" });
  });
});

describe("permissions", () => {
  const user = { sub: "user-1", role: "user" } as const;
  const service = { sub: "worker", role: "service" } as const;
  const admin = { sub: "ops", role: "admin" } as const;

  test("requireActor", () => {
    expect(requireActor(user)).toBe(user);
    expect(thrown(() => requireActor(undefined)).code).toBe("UNAUTHENTICATED");
  });

  test("isPrivileged", () => {
    expect([user, service, admin].map(isPrivileged)).toEqual([false, true, true]);
  });
});

function sign(claims: Record<string, unknown>): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: "HS256" })
    .setExpirationTime("1h")
    .sign(new TextEncoder().encode(secret));
}
