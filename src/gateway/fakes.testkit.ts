/**
 * Fake implementations of CommandService and QueryService for the gateway's e2e test: they exercise the
 * plumbing (context, errors, deadlines, streams), not the domain.
 */
import { AppError } from "../errors";
import type { CommandService } from "../gen/clone/v1/command_service_pb";
import type { QueryService } from "../gen/clone/v1/query_service_pb";
import type { CallContext, ServiceImplementation } from "./handler";

/** What the test observes of the handlers. */
export interface Probes {
  /** Messages produced by the "flood" stream. */
  produced: number;
  /** Called with the abort reason seen by the deadline handler. */
  onAbort?: (reason: unknown) => void;
  /** Called when a "live" or "flood" stream is closed. */
  onClose?: () => void;
}

/** Resolves when the call's signal aborts. */
function aborted(ctx: CallContext): Promise<void> {
  return new Promise((resolve) => {
    if (ctx.signal.aborted) resolve();
    else ctx.signal.addEventListener("abort", () => resolve(), { once: true });
  });
}

/** CommandService fakes: echo, violations, a leaking plain Error, a deadline waiter, upload. */
export function fakeCommands(probes: Probes): Partial<ServiceImplementation<typeof CommandService>> {
  return {
    async createUser(request, ctx) {
      return {
        result: {
          commandId: request.options?.commandId ?? "",
          aggregateId: request.userId,
          version: 1n,
          events: ["user.created"],
          consistencyToken: `actor:${ctx.actor?.sub}`,
        },
      };
    },
    async updateUserProfile() {
      throw AppError.invalid([
        { field: "email", description: "must be a valid address" },
        { field: "display_name", description: "must be 1..100 characters" },
      ]);
    },
    async deleteUser() {
      throw new Error("connection to postgres://admin:hunter2@db failed in a way nobody expected");
    },
    async endConversation(_request, ctx) {
      await aborted(ctx);
      probes.onAbort?.(ctx.signal.reason);
      throw ctx.signal.reason;
    },
    async uploadDocument(request) {
      return { result: { aggregateId: request.documentId, version: BigInt(request.content.length) } };
    },
  };
}

/** QueryService fakes: watchConversation in several flavours chosen by `conversation_id`. */
export function fakeQueries(probes: Probes): Partial<ServiceImplementation<typeof QueryService>> {
  return {
    watchConversation(request, ctx) {
      const turn = (sequence: number, text = `turn ${sequence}`) => ({ turn: { sequence, text } });
      switch (request.conversationId) {
        case "live-iterator":
          return blockingIterator([turn(1), turn(2), turn(3)], () => probes.onClose?.());
        case "flood":
          return (async function* () {
            const text = "x".repeat(64 * 1024);
            try {
              for (let sequence = 1; ; sequence++) {
                probes.produced++;
                yield turn(sequence, text);
              }
            } finally {
              probes.onClose?.();
            }
          })();
        default:
          return (async function* () {
            try {
              yield turn(1);
              if (request.conversationId === "fails")
                throw new AppError("NOT_FOUND", "conversation not found");
              yield turn(2);
              if (request.conversationId === "finite") {
                yield turn(3);
                return;
              }
              await aborted(ctx); // live: wait for more turns until the client goes away
            } finally {
              probes.onClose?.();
            }
          })();
      }
    },
  };
}

/** An iterator (not a generator) that hands out `items`, then blocks in next() until return() is called. */
function blockingIterator<T>(items: T[], onReturn: () => void): AsyncIterable<T> {
  let release: (() => void) | undefined;
  return {
    [Symbol.asyncIterator]: () => ({
      async next(): Promise<IteratorResult<T>> {
        const item = items.shift();
        if (item !== undefined) return { done: false, value: item };
        await new Promise<void>((resolve) => {
          release = resolve;
        });
        return { done: true, value: undefined };
      },
      async return(): Promise<IteratorResult<T>> {
        onReturn();
        release?.();
        return { done: true, value: undefined };
      },
    }),
  };
}
