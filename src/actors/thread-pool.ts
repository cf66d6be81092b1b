/**
 * The command threads of a worker process, seen from its main thread: the host of the partitions this process
 * owns (a {@link PartitionHost} of the JetStream command receiver).
 *
 * Why threads: decoding, deciding and encoding thousands of commands a second would otherwise share one event
 * loop. Each partition this process owns is consumed by one thread (the one with the fewest partitions when it
 * was acquired), on that thread's own NATS connection, so every aggregate (whose partition is a hash of its id)
 * has its mailbox in exactly one thread and its commands keep their order, and a command crosses no thread
 * boundary between NATS, its transaction and its answer. Threads run in parallel, each with its own Postgres
 * pool and group commit.
 *
 * The operations on one partition (consume, release, start over) run one after another, so a partition is
 * never consumed twice, nor after its release. If a thread dies (or fails after start-up), a new one takes its
 * place and starts its partitions over: each consumer is recreated from the first unacked message, so the
 * commands the dead thread had not acked come again, in order, and those it had applied are answered from
 * their stored results.
 */

import { Worker } from "node:worker_threads";
import type { CommandThreadData, ThreadExecution, ThreadInput, ThreadOutput } from "../contracts";
import { AppError } from "../errors";
import type { Logger } from "../logging";
import type { PartitionHost, PreparedPartition, StartReason } from "../transport/jetstream/command-receiver";
import { createKeyedQueue } from "./keyed-queue";

/** Options of {@link createCommandThreadPool}. */
export interface CommandThreadPoolOptions {
  readonly threads: number;
  /** Entry module of a command thread. */
  readonly entry: URL;
  readonly data: Omit<CommandThreadData, "threadIndex">;
  /** Told the commands each thread executed, timed there (the worker's execution metrics). */
  readonly onExecutions?: (executions: readonly ThreadExecution[]) => void;
  readonly log?: Logger;
}

/** A running pool. */
export interface CommandThreadPool extends PartitionHost {
  /**
   * Starts every partition this process consumes over, each on its thread: released (what is in flight
   * answered and acked), its consumer recreated from the first message still in the work queue, consumed
   * again. After NATS came back: a restarted server may keep acked commands in the work queue below its
   * consumers' ack floor, or have lost the consumers; the new consumers deliver what is still queued at once.
   */
  startOverAll(): void;
  /** Which thread consumes each partition, by partition (for logs and tests). */
  assignment(): ReadonlyMap<number, number>;
  /**
   * Has every thread release what it still consumes (each command in flight answered with its real outcome,
   * after its transaction, and acked), then ends the threads. Meant to follow the receiver's stop, which hands
   * the partitions back first. A thread that does not finish within `graceMs` is terminated; what it had not
   * acked comes again to the partition's next owner.
   */
  stop(graceMs?: number): Promise<void>;
}

/** A reply the main thread waits for: `consuming` or `released`, of one partition. */
type ReplyKey = `${"consuming" | "released"}:${number}`;

interface Slot {
  readonly index: number;
  worker: Worker;
  readonly waiting: Map<ReplyKey, { resolve(): void; reject(error: Error): void }>;
  /** Resolves when the current thread is ready; rejects when it failed or exited first. */
  ready: Promise<void>;
  /** Resolves when the current thread exited. */
  exited: Promise<void>;
  alive: boolean;
  /** `performance.now()` when the current thread was started. */
  spawnedAt: number;
}

/** A partition this process consumes: its thread, and how to recreate its consumer. */
interface Assigned {
  readonly slot: Slot;
  readonly prepare: (reason: StartReason) => Promise<PreparedPartition>;
}

/** The least time between a thread's start and its replacement's, and between tries to start a partition over. */
const RESPAWN_DELAY_MS = 1_000;
/** How many times the pool tries to start a thread before its own start fails. */
const START_ATTEMPTS = 5;

/** Starts the threads and resolves when all of them are ready. */
export async function createCommandThreadPool(options: CommandThreadPoolOptions): Promise<CommandThreadPool> {
  let stopping = false;
  /** Set once every first thread was ready: from then on a thread that dies or fails is replaced. */
  let started = false;
  let stopped: Promise<void> | undefined;
  const slots: Slot[] = [];
  const assigned = new Map<number, Assigned>();
  /** A partition's operations (consume, release, start over), one after another. */
  const queue = createKeyedQueue<number>();

  function spawn(index: number, slot?: Slot): Slot {
    const data: CommandThreadData = { ...options.data, threadIndex: index };
    const worker = new Worker(options.entry, { workerData: data });
    const s: Slot = slot ?? {
      index,
      worker,
      waiting: new Map(),
      ready: Promise.resolve(),
      exited: Promise.resolve(),
      alive: true,
      spawnedAt: 0,
    };
    s.worker = worker;
    s.alive = true;
    s.spawnedAt = performance.now();
    s.exited = new Promise<void>((resolve) => worker.once("exit", () => resolve()));
    let failReady: (error: Error) => void = () => {};
    s.ready = new Promise<void>((resolve, reject) => {
      failReady = reject;
      worker.on("message", (message: ThreadOutput) => {
        switch (message.kind) {
          case "ready":
            resolve();
            break;
          case "fatal":
            options.log?.warn({ thread: index, error: message.error.message }, "command thread failed");
            reject(AppError.deserialize(message.error));
            // At start-up this fails the pool; later, the thread is replaced (see "exit").
            if (started) void worker.terminate();
            break;
          case "consuming":
          case "released":
            settle(s, `${message.kind}:${message.partition}`);
            break;
          case "consume-failed":
            settle(s, `consuming:${message.partition}`, AppError.deserialize(message.error));
            break;
          case "executions":
            options.onExecutions?.(message.executions);
            break;
        }
      });
      worker.on("error", (error) => {
        options.log?.warn({ thread: index, error: String(error) }, "command thread error");
        reject(error);
      });
    });
    // Awaited by the pool's start and by startOn, which handle its failure.
    s.ready.catch(() => {});
    worker.on("exit", (code) => {
      if (s.worker !== worker) return; // a thread replaced before the pool started
      s.alive = false;
      const gone = new AppError("UNAVAILABLE", "command thread exited");
      failReady(gone); // a thread that exits before it is ready
      for (const key of [...s.waiting.keys()]) settle(s, key, gone);
      if (stopping || !started) return;
      const partitions = partitionsOf(s);
      options.log?.warn({ thread: index, code, partitions }, "command thread exited; starting a new one");
      // A replacement that dies at once (its database is down) is not respawned in a tight loop.
      const delay = performance.now() - s.spawnedAt < RESPAWN_DELAY_MS ? RESPAWN_DELAY_MS : 0;
      setTimeout(() => {
        if (stopping) return;
        spawn(index, s);
        for (const partition of partitionsOf(s)) startOver(s, partition, "thread-replaced");
      }, delay);
    });
    return s;
  }

  function partitionsOf(slot: Slot): number[] {
    return [...assigned].flatMap(([partition, a]) => (a.slot === slot ? [partition] : []));
  }

  function settle(slot: Slot, key: ReplyKey, error?: Error): void {
    const waiter = slot.waiting.get(key);
    slot.waiting.delete(key);
    if (error) waiter?.reject(error);
    else waiter?.resolve();
  }

  /** Posts `input` and resolves when the thread answers `key` (one request per partition at a time). */
  function request(slot: Slot, input: ThreadInput, key: ReplyKey): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      slot.waiting.set(key, { resolve, reject });
      slot.worker.postMessage(input);
    });
  }

  /**
   * Recreates the partition's consumer and has its thread consume it. Nothing is posted to a thread that died
   * meanwhile: its replacement starts the partition over itself.
   */
  async function startOn(slot: Slot, partition: number, reason: StartReason): Promise<void> {
    await slot.ready;
    const a = assigned.get(partition);
    if (!slot.alive || a?.slot !== slot) return;
    const { durable, maxMessages } = await a.prepare(reason);
    if (!slot.alive || assigned.get(partition) !== a) return;
    const input: ThreadInput = { kind: "consume", partition, durable, maxMessages };
    await request(slot, input, `consuming:${partition}`);
  }

  /**
   * Starts a partition over: on a new thread (whose predecessor died), or, after a NATS reconnect, on the
   * thread that consumes it now, which first releases it (its commands in flight answered and acked; a retry
   * does not release again). Retried while that thread lives and the partition stays on it.
   */
  function startOver(slot: Slot, partition: number, reason: StartReason, releaseFirst = false): void {
    const thread = slot.worker;
    queue
      .run(partition, async () => {
        if (releaseFirst && slot.alive && assigned.get(partition)?.slot === slot)
          await request(slot, { kind: "release", partition }, `released:${partition}`);
        await startOn(slot, partition, reason);
      })
      .catch((error: unknown) => {
        options.log?.warn(
          {
            thread: slot.index,
            partition,
            error: String(error),
          },
          "could not start a partition over; retrying",
        );
        setTimeout(() => {
          if (!stopping && slot.worker === thread && slot.alive && assigned.get(partition)?.slot === slot)
            startOver(slot, partition, reason);
        }, RESPAWN_DELAY_MS);
      });
  }

  /** The thread with the fewest partitions (the first of those). */
  function leastLoaded(): Slot {
    const load = new Map(slots.map((s) => [s, 0]));
    for (const a of assigned.values()) load.set(a.slot, (load.get(a.slot) ?? 0) + 1);
    return slots.reduce((best, s) => ((load.get(s) ?? 0) < (load.get(best) ?? 0) ? s : best));
  }

  for (let i = 0; i < options.threads; i++) slots.push(spawn(i));
  // A thread that fails to start (its NATS or Postgres too slow to answer on a loaded machine) is started
  // again a few times before the pool gives up: a process must not die of a dependency's slow moment.
  for (let attempt = 1; ; attempt++) {
    const outcomes = await Promise.allSettled(slots.map((s) => s.ready));
    const failed = slots.filter((_, i) => outcomes[i]?.status === "rejected");
    if (failed.length === 0) break;
    const reason = (outcomes.find((o) => o.status === "rejected") as PromiseRejectedResult).reason;
    if (attempt >= START_ATTEMPTS) {
      stopping = true;
      await Promise.all(slots.map((s) => s.worker.terminate()));
      throw reason;
    }
    options.log?.warn(
      {
        threads: failed.map((s) => s.index),
        attempt,
        error: String(reason),
      },
      "command thread failed to start; starting it again",
    );
    await Bun.sleep(RESPAWN_DELAY_MS);
    for (const s of failed) {
      await s.worker.terminate();
      spawn(s.index, s);
    }
  }
  started = true;

  return {
    consume(partition, prepare) {
      if (stopping) return Promise.reject(new AppError("UNAVAILABLE", "command threads are stopping"));
      return queue.run(partition, async () => {
        const a: Assigned = { slot: leastLoaded(), prepare };
        assigned.set(partition, a);
        try {
          await startOn(a.slot, partition, "acquired");
        } catch (error) {
          if (assigned.get(partition) === a) assigned.delete(partition);
          throw error;
        }
      });
    },
    release(partition) {
      return queue.run(partition, async () => {
        const a = assigned.get(partition);
        if (a === undefined) return;
        assigned.delete(partition);
        // A dead thread acks nothing more: the partition's next owner gets the rest again.
        if (!a.slot.alive) return;
        await request(a.slot, { kind: "release", partition }, `released:${partition}`).catch(
          (error: unknown) => {
            if (!(error instanceof AppError && error.code === "UNAVAILABLE")) throw error;
          },
        );
      });
    },
    startOverAll() {
      if (stopping) return;
      for (const [partition, a] of assigned) startOver(a.slot, partition, "reconnected", true);
    },
    assignment: () => new Map([...assigned].map(([partition, a]) => [partition, a.slot.index])),
    stop(graceMs = 30_000) {
      stopped ??= (async () => {
        stopping = true;
        await Promise.all(
          slots.map(async (s) => {
            // The thread releases what it still consumes (answering and acking what it had), then exits.
            const input: ThreadInput = { kind: "shutdown" };
            if (s.alive) s.worker.postMessage(input);
            const timer = setTimeout(() => {
              options.log?.warn(
                {
                  thread: s.index,
                  partitions: partitionsOf(s),
                },
                "command thread did not stop in time; terminating it",
              );
              void s.worker.terminate();
            }, graceMs);
            await s.exited;
            clearTimeout(timer);
          }),
        );
      })();
      return stopped;
    },
  };
}
