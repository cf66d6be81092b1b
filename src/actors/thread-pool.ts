/**
 * The command threads of a worker process, seen from its main thread.
 *
 * Why threads: JSON decoding, validation-free deciding and result encoding for thousands of commands a second
 * would otherwise share one event loop with NATS I/O. Each aggregate id is pinned to one thread (by hash), so its
 * mailbox lives in exactly one place and its commands keep their order; threads run in parallel, each with its own
 * Postgres pool and group commit. If a thread dies, its pending commands are rejected as UNAVAILABLE (the
 * transport then leaves them unacked, to be delivered again) and a new thread takes its place.
 */
import { Worker } from "node:worker_threads";
import type { CommandEnvelope, CommandHandler, CommandOutcome } from "../commands/envelope";
import { AppError } from "../errors";
import { fnv1a } from "../transport/partition";
import type { CommandThreadData, ThreadCommand, ThreadInput, ThreadOutput } from "./thread-messages";
import { createTickBatch, type TickBatch } from "./tick-batch";

/** Options of {@link createCommandThreadPool}. */
export interface CommandThreadPoolOptions {
  readonly threads: number;
  /** Entry module of a command thread. */
  readonly entry: URL;
  readonly data: Omit<CommandThreadData, "threadIndex">;
  readonly log?: (message: string, fields?: Record<string, unknown>) => void;
}

/** A running pool. */
export interface CommandThreadPool {
  /** Sends a command to the thread that owns its aggregate; UNAVAILABLE once the pool is stopping. */
  readonly handle: CommandHandler;
  /**
   * Lets every thread finish the commands it was given (each answered with its real outcome, after its
   * transaction), then ends them. A thread that does not finish within `graceMs` is terminated; what it
   * still had is answered UNAVAILABLE (not applied, so the transport leaves it unacked).
   */
  stop(graceMs?: number): Promise<void>;
}

interface Slot {
  worker: Worker;
  readonly pending: Map<number, (outcome: CommandOutcome) => void>;
  /** Commands handed in this tick, posted together at its end. */
  readonly outbox: TickBatch<ThreadCommand>;
  ready: Promise<void>;
  /** Resolves when the current thread exited. */
  exited: Promise<void>;
}

/** Starts the threads and resolves when all of them are ready. */
export async function createCommandThreadPool(options: CommandThreadPoolOptions): Promise<CommandThreadPool> {
  let nextId = 1;
  let stopping = false;
  let stopped: Promise<void> | undefined;
  const slots: Slot[] = [];

  function spawn(index: number, slot?: Slot): Slot {
    const data: CommandThreadData = { ...options.data, threadIndex: index };
    const worker = new Worker(options.entry, { workerData: data });
    const s: Slot = slot ?? {
      worker,
      pending: new Map(),
      outbox: createTickBatch((commands) => {
        const input: ThreadInput = { kind: "commands", commands };
        s.worker.postMessage(input);
      }),
      ready: Promise.resolve(),
      exited: Promise.resolve(),
    };
    s.worker = worker;
    s.exited = new Promise<void>((resolve) => worker.once("exit", () => resolve()));
    s.ready = new Promise<void>((resolve, reject) => {
      worker.on("message", (message: ThreadOutput) => {
        if (message.kind === "ready") resolve();
        else if (message.kind === "outcomes") {
          for (const { id, outcome } of message.outcomes) {
            const settle = s.pending.get(id);
            s.pending.delete(id);
            settle?.(outcome);
          }
        } else if (message.kind === "fatal") {
          options.log?.("command thread failed", { thread: index, error: message.error.message });
          reject(AppError.deserialize(message.error));
        }
      });
      worker.on("error", (error) => {
        options.log?.("command thread error", { thread: index, error: String(error) });
        reject(error);
      });
    });
    worker.on("exit", (code) => {
      const unavailable = new AppError("UNAVAILABLE", "command thread exited").serialize();
      for (const settle of s.pending.values()) settle({ ok: false, error: unavailable });
      s.pending.clear();
      s.outbox.clear();
      if (!stopping) {
        options.log?.("command thread exited; starting a new one", { thread: index, code });
        spawn(index, s);
      }
    });
    return s;
  }

  for (let i = 0; i < options.threads; i++) slots.push(spawn(i));
  await Promise.all(slots.map((s) => s.ready));

  return {
    handle(envelope: CommandEnvelope) {
      if (stopping) {
        const error = new AppError("UNAVAILABLE", "command threads are stopping").serialize();
        return Promise.resolve<CommandOutcome>({ ok: false, error });
      }
      const slot = slots[fnv1a(envelope.aggregateId) % slots.length] as Slot;
      const id = nextId++;
      return new Promise<CommandOutcome>((resolve) => {
        slot.pending.set(id, resolve);
        // The transport hands over every message of a read in one synchronous run: post them once, after it.
        slot.outbox.add({ id, envelope });
      });
    },
    stop(graceMs = 30_000) {
      stopped ??= (async () => {
        stopping = true;
        await Promise.all(
          slots.map(async (s, index) => {
            // The thread answers everything it was sent before this message, then exits by itself.
            s.outbox.flush();
            const input: ThreadInput = { kind: "shutdown" };
            s.worker.postMessage(input);
            const timer = setTimeout(() => {
              options.log?.("command thread did not stop in time; terminating it", {
                thread: index,
                pending: s.pending.size,
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
