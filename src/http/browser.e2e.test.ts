/**
 * A real browser calls the gateway over gRPC-web: headless Chromium (Debian's `chromium`, driven by
 * playwright-core) opens a page served from another origin, whose script (src/http/test-page/client.ts,
 * bundled with Bun.build, connect-web and the generated schemas) calls CreateUser and GetUserProfile across
 * origins (CORS preflight included) and shows the result. The gateway runs on the real tier.
 *
 * Chromium is required: without it this test fails (CI installs it, see .ci/run); it never skips.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Server } from "bun";
import { type BrowserContext, chromium } from "playwright-core";
import { mintToken } from "../gateway";
import { createTestStack, type TestStack } from "../testing";

/** Debian's package (`apt-get install -y chromium`), which .ci/run installs when it is missing. */
const chromiumPath = "/usr/bin/chromium";
const chromiumArgs = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
const secret = "browser-e2e-secret-0123456789abcdef";
let stack: TestStack;
let page: Server<undefined>;
let gatewayUrl: string;

const html = `<!doctype html>
<html><head><meta charset="utf-8"><title>clone gRPC-web test page</title></head>
<body><pre id="result"></pre><pre id="error"></pre><script type="module" src="/client.js"></script></body></html>`;

beforeAll(async () => {
  const bundle = await Bun.build({
    entrypoints: [new URL("./test-page/client.ts", import.meta.url).pathname],
    target: "browser",
  });
  if (!bundle.success || bundle.outputs[0] === undefined) {
    throw new Error(`cannot bundle the test page: ${bundle.logs.join("\n")}`);
  }
  const script = await bundle.outputs[0].text();
  page = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(request) {
      const { pathname } = new URL(request.url);
      if (pathname === "/client.js") {
        return new Response(script, { headers: { "content-type": "text/javascript; charset=utf-8" } });
      }
      if (pathname === "/")
        return new Response(html, { headers: { "content-type": "text/html; charset=utf-8" } });
      return new Response("not found", { status: 404 });
    },
  });

  stack = await createTestStack({
    AUTH_JWT_SECRET: secret,
    // Only the page's origin may call: the browser enforces it.
    CORS_ORIGINS: `http://127.0.0.1:${page.port}`,
    COMMAND_PARTITIONS: "2",
    OUTBOX_POLL_MS: "200",
  });
  await stack.start("worker");
  await stack.start("relay");
  await stack.start("consistency");
  gatewayUrl = (await stack.addresses(await stack.start("gateway"))).http;
}, 60_000);

afterAll(async () => {
  await page?.stop(true);
  await stack?.stop();
});

/** A fresh headless Chromium (own profile directory) for `use`; fails when Chromium is not installed. */
async function withBrowser(use: (context: BrowserContext) => Promise<void>): Promise<void> {
  if (!existsSync(chromiumPath)) {
    throw new Error(`Chromium not found at ${chromiumPath}: install it (apt-get install -y chromium)`);
  }
  const userDataDir = mkdtempSync(join(tmpdir(), "clone-chromium-"));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: chromiumPath,
    headless: true,
    args: chromiumArgs, // playwright passes the fresh profile as --user-data-dir itself
  });
  try {
    await use(context);
  } finally {
    await context.close();
    rmSync(userDataDir, { recursive: true, force: true });
  }
}

/** The page's URL on `host` (its origin), with what its script needs in the query. */
async function pageUrl(host: string, userId: string): Promise<string> {
  const token = await mintToken({ sub: userId, role: "user", secret });
  return `http://${host}:${page.port}/?${new URLSearchParams({ gateway: gatewayUrl, token, user: userId })}`;
}

const finished = `document.getElementById("result").textContent !== "" ||
  document.getElementById("error").textContent !== ""`;

describe("gRPC-web from a real browser (headless Chromium)", () => {
  test("the page creates a user and reads its profile across origins", async () => {
    await withBrowser(async (context) => {
      const userId = crypto.randomUUID();
      const tab = await context.newPage();
      const requests: string[] = [];
      tab.on("request", (r) => requests.push(`${r.method()} ${new URL(r.url()).pathname}`));
      await tab.goto(await pageUrl("127.0.0.1", userId));
      await tab.waitForFunction(finished, undefined, { timeout: 20_000 });
      expect(await tab.textContent("#error")).toBe("");
      expect(JSON.parse((await tab.textContent("#result")) ?? "{}")).toEqual({
        aggregateId: userId,
        events: ["user.created"],
        email: `${userId}@browser.example`,
        displayName: "Browser User",
      });
      expect(requests).toContain("POST /clone.v1.CommandService/CreateUser");
      expect(requests).toContain("POST /clone.v1.QueryService/GetUserProfile");
    });
  }, 60_000);

  test("a page from an origin the gateway does not allow is blocked by the browser", async () => {
    await withBrowser(async (context) => {
      const tab = await context.newPage();
      // localhost is another origin than 127.0.0.1, and not in CORS_ORIGINS.
      await tab.goto(await pageUrl("localhost", crypto.randomUUID()));
      await tab.waitForFunction(finished, undefined, { timeout: 20_000 });
      expect(await tab.textContent("#result")).toBe("");
      expect(await tab.textContent("#error")).toContain('"code":');
    });
  }, 60_000);
});
