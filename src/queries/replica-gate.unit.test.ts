import { describe, expect, test } from "bun:test";
import type { StreamPoint } from "../contracts/consistency-token";
import type { StoredProgress } from "../read-models";
import { type Announcement, createReplicaGate, replicaShows } from "./replica-gate";

const at = (n: number): StreamPoint => ({ transactionId: BigInt(n), position: BigInt(n) });
const refresh = (n: number, tag = `user:${n}`): Announcement => ({
  views: { user_profile_view: at(n) },
  complete: at(n),
  completeSeq: n,
  invalidations: [{ queryType: "GetUserProfile", tag }],
});
const heartbeat = (n: number, caughtUpAt: number): Announcement => ({
  views: {},
  complete: at(n),
  completeSeq: n,
  invalidations: [],
  caughtUpAt,
});

/** A gate over a replica whose progress the test sets. */
function gateOver(options: { maxHeld?: number } = {}) {
  let replica: StoredProgress = { complete: at(0), views: {} };
  const released: Announcement[] = [];
  let emptied = 0;
  let clock = 1_000;
  const gate = createReplicaGate({
    readReplicaProgress: async () => replica,
    release: (u) => released.push(u),
    invalidateAll: () => emptied++,
    pollMs: 5,
    now: () => clock,
    ...options,
  });
  return {
    gate,
    released,
    emptied: () => emptied,
    replicaAt(n: number) {
      replica = { complete: at(n), views: { user_profile_view: at(n) } };
    },
    tick(ms: number) {
      clock += ms;
    },
  };
}

describe("replica gate", () => {
  test("replicaShows: every view's point and the complete point, a view behind its complete point counts as it", () => {
    const progress: StoredProgress = { complete: at(5), views: { user_profile_view: at(7) } };
    expect(replicaShows(progress, refresh(7))).toBe(false); // complete 7 > 5
    expect(replicaShows(progress, { ...refresh(7), complete: at(5) })).toBe(true);
    expect(replicaShows(progress, { ...refresh(8), complete: at(5) })).toBe(false);
    expect(
      replicaShows(progress, {
        views: { document_summary_view: at(4) },
        complete: at(4),
        completeSeq: 4,
        invalidations: [],
      }),
    ).toBe(true);
  });

  test("an update is held until the replica shows it, then released in order; the lag is the oldest held", async () => {
    const t = gateOver();
    t.gate.accept(refresh(1));
    t.gate.accept(refresh(2));
    await Bun.sleep(30);
    expect(t.released).toEqual([]);
    t.tick(1_500);
    expect(t.gate.lagSeconds()).toBe(1.5);
    t.replicaAt(1);
    await Bun.sleep(30);
    expect(t.released.map((u) => u.completeSeq)).toEqual([1]);
    t.replicaAt(2);
    await Bun.sleep(30);
    expect(t.released.map((u) => u.completeSeq)).toEqual([1, 2]);
    expect(t.gate.lagSeconds()).toBe(0);
    // Shown already: released at once.
    t.gate.accept(refresh(2, "user:again"));
    expect(t.released).toHaveLength(3);
    t.gate.stop();
  });

  test("held heartbeats merge into one with the later point and time", async () => {
    const t = gateOver();
    t.gate.accept(heartbeat(3, 100));
    t.gate.accept(heartbeat(4, 200));
    expect(t.gate.held()).toBe(1);
    t.replicaAt(3);
    await Bun.sleep(30);
    expect(t.released).toEqual([]); // the merged one needs point 4
    t.replicaAt(4);
    await Bun.sleep(30);
    expect(t.released).toEqual([heartbeat(4, 200)]);
    t.gate.stop();
  });

  test("beyond maxHeld everything merges into one that empties the cache when released", async () => {
    const t = gateOver({ maxHeld: 2 });
    for (let n = 1; n <= 3; n++) t.gate.accept(refresh(n));
    expect(t.gate.held()).toBe(1);
    t.replicaAt(3);
    await Bun.sleep(30);
    expect(t.emptied()).toBe(1);
    expect(t.released).toHaveLength(1);
    expect(t.released[0]?.complete).toEqual(at(3));
    t.gate.stop();
  });
});
