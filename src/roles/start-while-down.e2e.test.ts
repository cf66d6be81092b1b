/**
 * Roles started while Postgres and NATS are down (a process restarted during an outage): each waits for
 * them, saying so, and starts once they answer, instead of exiting.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { createPrivateStack, type PrivateStack, type RoleProcess, roleReady, startRole } from "../testing";

let stack: PrivateStack;
const started: RoleProcess[] = [];

beforeAll(async () => {
  stack = await createPrivateStack({ AUTH_JWT_SECRET: "start-while-down-secret-0123456789" });
}, 60_000);
afterAll(async () => {
  await Promise.all(started.map((p) => p.kill("SIGKILL")));
  await stack?.stop();
});

test("every role waits for Postgres and NATS, then starts", async () => {
  await Promise.all([stack.postgres.stop("immediate"), stack.nats.stop("SIGKILL")]);
  const roles = ["gateway", "worker", "relay", "consistency"] as const;
  const waiting = (l: Record<string, unknown>) => l.msg === "waiting for dependencies before starting";
  started.push(...(await Promise.all(roles.map((role) => startRole(role, { ...stack.env }, waiting)))));
  await Bun.sleep(1_000);
  expect(started.map((p) => p.exitCode())).toEqual([null, null, null, null]);
  await Promise.all([stack.postgres.start(), stack.nats.start()]);
  await Promise.all(
    started.map((p, i) => p.waitForLog(roleReady[roles[i] as (typeof roles)[number]], 20_000)),
  );
  expect(started.map((p) => p.exitCode())).toEqual([null, null, null, null]);
}, 60_000);
