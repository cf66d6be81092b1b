/**
 * Fuzz on the real tier: random valid and invalid requests (random bytes, cut or altered encodings, U+0000,
 * unpaired surrogates, 4-byte characters, boundary lengths and sizes, undeclared enum values), for every RPC
 * of CommandService and QueryService, over gRPC, gRPC-web, Connect binary and Connect JSON, with no token, a
 * garbage one, a user's and an admin's. Every answer must be one API.md allows for its input (never UNKNOWN,
 * INTERNAL or HTTP 5xx; see src/testing/fuzz-run.ts), the gateway must still serve afterwards, and its
 * resident memory must come back near where it was after a warm-up. `bun run fuzz` runs 10,000 per wire.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { create } from "@bufbuild/protobuf";
import fc from "fast-check";
import { mintToken } from "../gateway";
import { CommandService } from "../gen/clone/v1/command_service_pb";
import {
  type CallerTokens,
  createRawRpc,
  createTestStack,
  encodeFor,
  fuzzCase,
  type RawRpc,
  type RoleProcess,
  rssOf,
  runFuzzCases,
  type TestStack,
} from "../testing";

const secret = "fuzz-e2e-secret-0123456789abcdef";
let stack: TestStack;
let gateway: RoleProcess;
let rpc: RawRpc;
let tokens: CallerTokens;
const ids = [crypto.randomUUID(), crypto.randomUUID(), crypto.randomUUID(), crypto.randomUUID()];

beforeAll(async () => {
  // A small query cache, so that its filling (by design, up to its bound) does not pass for a leak.
  stack = await createTestStack({ AUTH_JWT_SECRET: secret, QUERY_CACHE_MAX_ENTRIES: "1000" });
  await stack.start("worker");
  gateway = await stack.start("gateway");
  rpc = createRawRpc(await stack.addresses(gateway));
  tokens = {
    none: undefined,
    garbage: "not.a.token",
    user: await mintToken({ sub: ids[0] as string, role: "user", secret }),
    admin: await mintToken({ sub: crypto.randomUUID(), role: "admin", secret }),
  };
}, 60_000);

afterAll(async () => {
  rpc?.close();
  await stack?.stop();
});

test("random requests on every wire: only statuses a caller may cause, the gateway stays up, memory returns", async () => {
  const seed = Date.now();
  const run = (n: number, offset: number) =>
    runFuzzCases(rpc, fc.sample(fuzzCase(ids), { numRuns: n, seed: seed + offset }), tokens, 8);

  const warmUp = await run(1_000, 0);
  const baseline = await rssOf(gateway.pid);
  const { counts, problems } = await run(4_000, 1);
  const after = await rssOf(gateway.pid);

  console.log(`fuzz seed ${seed}; RSS ${mb(baseline)} -> ${mb(after)} MiB;`, JSON.stringify(counts));
  expect([...warmUp.problems, ...problems]).toEqual([]);
  // Every wire saw every kind of answer it should: the run reached the handlers, not only the decoder.
  for (const wire of Object.values(counts)) expect(Object.keys(wire).length).toBeGreaterThan(2);

  // Still serving: a valid command goes through.
  const ok = await rpc.call(
    "grpc",
    CommandService.method.createUser,
    encodeFor(
      "grpc",
      CommandService.method.createUser.input,
      create(CommandService.method.createUser.input, {
        email: `fuzz-${seed}@example.com`,
        displayName: "After the fuzz",
      }),
    ),
    { token: tokens.admin as string },
  );
  expect(ok.code).toBe("OK");
  expect(() => process.kill(gateway.pid, 0)).not.toThrow(); // the same process, alive
  // What the fuzz held is given back: RSS near the level after the warm-up (GC timing makes it wander).
  expect(after).toBeLessThan(baseline * 1.15 + 24 * 1024 * 1024);
}, 40_000);

const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);
