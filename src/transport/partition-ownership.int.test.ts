/**
 * Partition leases on a real Postgres: a graceful stop drains each partition before unlocking it, and hand-overs
 * happen at once through NOTIFY, not at the next rebalance timer (set to a minute here so only NOTIFY can
 * explain a quick hand-over).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createTestDatabase, type TestDatabase } from "../testing";
import { createPartitionOwnership, type PartitionOwnership } from "./partition-ownership";

const PARTITIONS = 8;
const SLOW_TIMER_MS = 60_000;
let db: TestDatabase;
const started: PartitionOwnership[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
});

afterAll(async () => {
  await Promise.all(started.map((o) => o.stop()));
  await db?.drop();
});

interface Member {
  readonly ownership: PartitionOwnership;
  readonly events: string[];
  /** Partitions whose release is held until the returned function is called. */
  hold(partition: number): () => void;
}

async function join(prefix: string): Promise<Member> {
  const events: string[] = [];
  const holds = new Map<number, Promise<void>>();
  const ownership = await createPartitionOwnership(
    { databaseUrl: db.url, prefix, partitions: PARTITIONS, rebalanceMs: SLOW_TIMER_MS },
    {
      async onAcquire(p) {
        events.push(`acquire ${p}`);
      },
      async onRelease(p) {
        events.push(`draining ${p}`);
        await holds.get(p);
        events.push(`released ${p}`);
      },
    },
  );
  started.push(ownership);
  return {
    ownership,
    events,
    hold(p) {
      let resolve = () => {};
      holds.set(p, new Promise<void>((r) => (resolve = r)));
      return () => resolve();
    },
  };
}

async function until(check: () => boolean, timeoutMs: number): Promise<number> {
  const since = performance.now();
  while (!check()) {
    if (performance.now() - since > timeoutMs) throw new Error(`not reached in ${timeoutMs} ms`);
    await Bun.sleep(5);
  }
  return performance.now() - since;
}

describe("partition ownership", () => {
  test("a joining member gets its share at once; a stopping one hands every partition over as it drains", async () => {
    const prefix = `po_${crypto.randomUUID().slice(0, 8)}`;
    const a = await join(prefix);
    expect(a.ownership.owned()).toHaveLength(PARTITIONS);

    const b = await join(prefix);
    // B's NOTIFY on joining makes A hand back its excess, and A's NOTIFYs make B take it: no timer involved.
    const shareMs = await until(
      () => a.ownership.owned().length === 4 && b.ownership.owned().length === 4,
      2_000,
    );
    expect(shareMs).toBeLessThan(1_000);

    // A stops while one of its partitions still has a command in flight.
    const [slow, ...quick] = a.ownership.owned() as [number, ...number[]];
    const finish = a.hold(slow);
    const stopping = a.ownership.stop();
    await until(() => quick.every((p) => b.ownership.owned().includes(p)), 1_000);
    // The partition still draining stays A's: B cannot take it before its in-flight work is done.
    expect(b.ownership.owned()).not.toContain(slow);
    expect(a.events).not.toContain(`released ${slow}`);
    finish();
    await stopping;
    const takeoverMs = await until(() => b.ownership.owned().length === PARTITIONS, 1_000);
    expect(takeoverMs).toBeLessThan(500);
    expect(a.ownership.owned()).toEqual([]);
  });

  test("prefixes do not share partitions or notifications", async () => {
    const x = await join(`px_${crypto.randomUUID().slice(0, 8)}`);
    const y = await join(`py_${crypto.randomUUID().slice(0, 8)}`);
    expect(x.ownership.owned()).toHaveLength(PARTITIONS);
    expect(y.ownership.owned()).toHaveLength(PARTITIONS);
    await x.ownership.stop();
    await y.ownership.stop();
  });
});
