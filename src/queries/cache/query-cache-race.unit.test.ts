/**
 * The cache's central guarantee, checked against random interleavings: a call begun after an invalidation
 * returned is never answered with a value whose load began before it.
 *
 * A model "database" holds a version per key; a write bumps the versions of the keys it touches and then
 * invalidates them, as the consistency worker does. A load reads the version when it starts (the worst case)
 * and resolves whenever fast-check's scheduler decides, interleaved with later reads, writes and gets. Every
 * answer must carry at least the version the key had when the call began.
 */
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { cacheKey } from "./cache-key";
import { createQueryCache } from "./query-cache";

const types = ["A", "B"] as const;
const ids = ["1", "2"] as const;
const type = fc.constantFrom(...types);
const id = fc.constantFrom(...ids);

type Op =
  | { kind: "read"; type: string; id: string; bypass: boolean; fail: boolean }
  | { kind: "get"; type: string; id: string }
  | { kind: "write"; scope: string | undefined; id: string }
  | { kind: "writeAll" };

const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({ kind: fc.constant("read"), type, id, bypass: fc.boolean(), fail: fc.boolean() }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("get"), type, id }) },
  {
    weight: 3,
    arbitrary: fc.record({ kind: fc.constant("write"), scope: fc.constantFrom(undefined, ...types), id }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("writeAll") }) },
) as fc.Arbitrary<Op>;

interface Versioned {
  readonly key: string;
  readonly version: number;
}

/** Cache settings under test: plain, or with refresh ahead (a clock moving one tick per step) and reloads. */
type Mode = "plain" | "refreshing";

async function checkProperty(mode: Mode): Promise<void> {
  await fc.assert(
    fc.asyncProperty(
      fc.scheduler(),
      fc.array(op, { minLength: 4, maxLength: 60, size: "medium" }),
      async (s, ops) => {
        const db = new Map<string, number>();
        const version = (key: string) => db.get(key) ?? 0;
        let tick = 0;
        const cache = createQueryCache<Versioned>(
          mode === "plain"
            ? { ttlMs: 1e9, maxEntries: 4, maxBytes: 1e9, now: () => 0 }
            : {
                ttlMs: 12,
                maxEntries: 4,
                maxBytes: 1e9,
                now: () => tick,
                refreshAhead: 0.5,
                reloadInvalidated: true,
              },
        );
        const problems: string[] = [];
        const answers: Promise<void>[] = [];
        const check = (key: string, atCall: number, got: Versioned, how: string) => {
          if (got.key !== key || got.version < atCall) {
            problems.push(`${how} ${key}: got ${got.key}@${got.version}, expected at least @${atCall}`);
          }
        };

        const run = (o: Op): void => {
          tick++;
          switch (o.kind) {
            case "read": {
              const key = cacheKey(o.type, { id: o.id });
              const atCall = version(key);
              const load = () => {
                const read = { key, version: version(key) };
                return s.schedule(Promise.resolve(read)).then((v) => {
                  if (o.fail) throw new Error("load failed");
                  return v;
                });
              };
              const answer = cache.getOrLoad(key, [`t:${o.id}`], load, { bypass: o.bypass });
              answers.push(
                answer.then(
                  (r) => check(key, atCall, r.value, "getOrLoad"),
                  () => {},
                ),
              );
              return;
            }
            case "get": {
              const key = cacheKey(o.type, { id: o.id });
              const hit = cache.get(key);
              if (hit) check(key, version(key), hit.value, "get");
              return;
            }
            case "write":
              for (const t of o.scope === undefined ? types : [o.scope]) {
                const key = cacheKey(t, { id: o.id });
                db.set(key, version(key) + 1);
              }
              cache.invalidate(o.scope, `t:${o.id}`);
              return;
            case "writeAll":
              for (const t of types)
                for (const i of ids) db.set(cacheKey(t, { id: i }), version(cacheKey(t, { id: i })) + 1);
              cache.invalidateAll();
              return;
            default: {
              const _exhaustive: never = o;
              throw new Error(`unknown op ${JSON.stringify(_exhaustive)}`);
            }
          }
        };

        s.scheduleSequence(ops.map((o) => async () => run(o)));
        await s.waitAll();
        await Promise.all(answers);
        for (const t of types) {
          for (const i of ids) {
            const key = cacheKey(t, { id: i });
            const hit = cache.get(key);
            if (hit) check(key, version(key), hit.value, "final get");
          }
        }
        expect(problems).toEqual([]);
      },
    ),
    { numRuns: 500 },
  );
}

describe("query cache: invalidation versus racing loads", () => {
  test("property: no call begun after an invalidation gets a value loaded before it", async () => {
    await checkProperty("plain");
  });

  test("property: the same with refresh ahead of expiry and reloads of invalidated entries in use", async () => {
    await checkProperty("refreshing");
  });
});
