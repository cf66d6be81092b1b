/**
 * The command threads of a worker process, seen from its main thread: the host of the partitions this process
 * owns (a {@link PartitionHost} of the JetStream command receiver).
 *
 * Why threads: decoding, deciding and encoding thousands of commands a second would otherwise share one event
 * loop. Partition `p` is consumed by thread `p % threads`, on that thread's own NATS connection, so every
 * aggregate (whose partition is a hash of its id) has its mailbox in exactly one thread and its commands keep
 * their order, and a command crosses no thread boundary between NATS, its transaction and its answer. Threads
 * run in parallel, each with its own Postgres pool and group commit.
 *
 * If a thread dies, a new one takes its place and starts its partitions over: each consumer is recreated from
 * the first unacked message, so the commands the dead thread had not acked come again, in order, and those it
 * had applied are answered from their stored results.
 */
import { Worker } from "node:worker_threads";
import { AppError } from "../errors";
import type { PartitionHost } from "../transport/jetstream/command-receiver";
import type { CommandThreadData, ThreadExecution, ThreadInput, ThreadOutput } from "./thread-messages";

/** Options of {@link createCommandThreadPool}. */
export interface CommandThreadPoolOptions {
  readonly threads: number;
  /** Entry module of a command thread. */
  readonly entry: URL;
  readonly data: Omit<CommandThreadData, "threadIndex">;
  /** Told the commands each thread executed, timed there (the worker's execution metrics). */
  readonly onExecutions?: (executions: readonly ThreadExecution[]) => void;
  readonly log?: (message: string, fields?: Record<string, unknown>) => void;
}

/** A running pool. */
export interface CommandThreadPool extends PartitionHost {
  /**
   * Has every thread release its partitions (each command in flight answered with its real outcome, after
   * its transaction, and acked), then ends the threads. A thread that does not finish within `graceMs` is
   * terminated; what it had not acked comes again to the partition's next owner.
   */
  stop(graceMs?: number): Promise<void>;
}

/** A reply the main thread waits for: `consuming` or `released`, of one partition. */
type ReplyKey = `${"consuming" | "released"}:${number}`;

interface Slot {
  readonly index: number;
  worker: Worker;
  /** Partitions this thread consumes, with how to recreate each one's consumer. */
  readonly partitions: Map<number, () => Promise<string>>;
  readonly waiting: Map<ReplyKey, { resolve(): void; reject(error: Error): void }>;
  ready: Promise<void>;
  /** Resolves when the current thread exited. */
  exited: Promise<void>;
  alive: boolean;
  /** `performance.now()` when the current thread was started. */
  spawnedAt: number;
}

/** The least time between a thread's start and its replacement's, and between tries to start a partition over. */
const RESPAWN_DELAY_MS = 1_000;

/** Starts the threads and resolves when all of them are ready. */
export async function createCommandThreadPool(options: CommandThreadPoolOptions): Promise<CommandThreadPool> {
  let stopping = false;
  /** Set once every first thread was ready: from then on a thread that dies or fails is replaced. */
  let started = false;
  let stopped: Promise<void> | undefined;
  const slots: Slot[] = [];

  function spawn(index: number, slot?: Slot): Slot {
    const data: CommandThreadData = { ...options.data, threadIndex: index };
    const worker = new Worker(options.entry, { workerData: data });
    const s: Slot = slot ?? {
      index,
      worker,
      partitions: new Map(),
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
    s.ready = new Promise<void>((resolve, reject) => {
      worker.on("message", (message: ThreadOutput) => {
        switch (message.kind) {
          case "ready":
            resolve();
            break;
          case "fatal":
            options.log?.("command thread failed", { thread: index, error: message.error.message });
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
        options.log?.("command thread error", { thread: index, error: String(error) });
        reject(error);
      });
    });
    // Awaited by the pool's start and by consumeOn, which handle its failure.
    s.ready.catch(() => {});
    worker.on("exit", (code) => {
      s.alive = false;
      const gone = new AppError("UNAVAILABLE", "command thread exited");
      for (const key of [...s.waiting.keys()]) settle(s, key, gone);
      if (stopping || !started) return;
      options.log?.("command thread exited; starting a new one", {
        thread: index,
        code,
        partitions: [...s.partitions.keys()],
      });
      // A replacement that dies at once (its database is down) is not respawned in a tight loop.
      const delay = performance.now() - s.spawnedAt < RESPAWN_DELAY_MS ? RESPAWN_DELAY_MS : 0;
      setTimeout(() => {
        if (stopping) return;
        spawn(index, s);
        for (const partition of s.partitions.keys()) startOver(s, partition);
      }, delay);
    });
    return s;
  }

  /**
   * Has the slot's new thread consume `partition` again; retried while that thread lives and the partition is
   * still the slot's (a later replacement starts it over itself).
   */
  function startOver(slot: Slot, partition: number): void {
    const thread = slot.worker;
    consumeOn(slot, partition).catch((error: unknown) => {
      options.log?.("could not start a partition over; retrying", {
        thread: slot.index,
        partition,
        error: String(error),
      });
      setTimeout(() => {
        if (!stopping && slot.worker === thread && slot.alive && slot.partitions.has(partition))
          startOver(slot, partition);
      }, RESPAWN_DELAY_MS);
    });
  }

  function settle(slot: Slot, key: ReplyKey, error?: Error): void {
    const waiter = slot.waiting.get(key);
    slot.waiting.delete(key);
    if (error) waiter?.reject(error);
    else waiter?.resolve();
  }

  /** Posts `input` and resolves when the thread answers `key`. */
  function request(slot: Slot, input: ThreadInput, key: ReplyKey): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      slot.waiting.get(key)?.reject(new AppError("ABORTED", `superseded: ${key}`));
      slot.waiting.set(key, { resolve, reject });
      slot.worker.postMessage(input);
    });
  }

  /** Recreates the partition's consumer and has the slot's current thread consume it. */
  async function consumeOn(slot: Slot, partition: number): Promise<void> {
    await slot.ready;
    const prepare = slot.partitions.get(partition);
    if (prepare === undefined) return; // released meanwhile
    const durable = await prepare();
    // Released while its consumer was being recreated (the lease connection was lost): not consumed.
    if (slot.partitions.get(partition) !== prepare) return;
    await request(slot, { kind: "consume", partition, durable }, `consuming:${partition}`);
  }

  const slotOf = (partition: number) => slots[partition % slots.length] as Slot;

  for (let i = 0; i < options.threads; i++) slots.push(spawn(i));
  try {
    await Promise.all(slots.map((s) => s.ready));
  } catch (error) {
    stopping = true;
    await Promise.all(slots.map((s) => s.worker.terminate()));
    throw error;
  }
  started = true;

  return {
    async consume(partition, prepare) {
      if (stopping) throw new AppError("UNAVAILABLE", "command threads are stopping");
      const slot = slotOf(partition);
      slot.partitions.set(partition, prepare);
      try {
        await consumeOn(slot, partition);
      } catch (error) {
        slot.partitions.delete(partition);
        throw error;
      }
    },
    async release(partition) {
      const slot = slotOf(partition);
      if (!slot.partitions.delete(partition)) return;
      // A dead thread acked nothing more: its partition's next owner gets the rest again.
      if (!slot.alive) return;
      await request(slot, { kind: "release", partition }, `released:${partition}`).catch((error: unknown) => {
        if (!(error instanceof AppError && error.code === "UNAVAILABLE")) throw error;
      });
    },
    stop(graceMs = 30_000) {
      stopped ??= (async () => {
        stopping = true;
        await Promise.all(
          slots.map(async (s) => {
            // The thread releases what it still consumes (answering and acking what it had), then exits.
            const input: ThreadInput = { kind: "shutdown" };
            if (s.alive) s.worker.postMessage(input);
            const timer = setTimeout(() => {
              options.log?.("command thread did not stop in time; terminating it", {
                thread: s.index,
                partitions: [...s.partitions.keys()],
              });
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
