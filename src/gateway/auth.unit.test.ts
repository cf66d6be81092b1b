import { describe, expect, test } from "bun:test";
import { SignJWT } from "jose";
import { AppError } from "../errors";
import { authInterceptor, createAuthenticator, mintToken } from "./auth";
import { createCallContext } from "./call-context";
import type { Next } from "./handler";
import { requireRole, requireSelfOrPrivileged } from "./permissions";

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

  test("requireRole", () => {
    expect(requireRole(service, ["service", "admin"])).toBe(service);
    expect(requireRole(admin, ["service", "admin"])).toBe(admin);
    const error = thrown(() => requireRole(user, ["service", "admin"]));
    expect(error.code).toBe("PERMISSION_DENIED");
    expect(thrown(() => requireRole(undefined, ["user"])).code).toBe("UNAUTHENTICATED");
  });

  test("requireSelfOrPrivileged", () => {
    expect(requireSelfOrPrivileged(user, "user-1")).toBe(user);
    expect(requireSelfOrPrivileged(service, "user-1")).toBe(service);
    expect(requireSelfOrPrivileged(admin, "user-2")).toBe(admin);
    expect(thrown(() => requireSelfOrPrivileged(user, "user-2")).code).toBe("PERMISSION_DENIED");
  });
});

function sign(claims: Record<string, unknown>): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: "HS256" })
    .setExpirationTime("1h")
    .sign(new TextEncoder().encode(secret));
}
