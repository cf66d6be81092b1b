/**
 * The wire form of {@link ConsistencyUpdate}: JSON on core NATS subject `<prefix>.consistency`, sent by the
 * coordinator after each committed refresh (and as a heartbeat while caught up), received by every gateway.
 */
import type { StreamPoint } from "../contracts";
import type { CacheInvalidation, ConsistencyUpdate, QueryType, ViewName } from "../read-models";

/** Subject of consistency updates under a prefix. */
export const consistencySubject = (prefix: string) => `${prefix}.consistency`;

/** An update as sent: points as strings, plus the caught-up time of a heartbeat. */
export interface WireUpdate {
  readonly views: Partial<Record<ViewName, readonly [string, string]>>;
  readonly complete: readonly [string, string];
  readonly completeSeq: number;
  readonly invalidations: readonly CacheInvalidation<QueryType>[];
  /** Epoch ms when the coordinator had applied everything published so far (heartbeats only). */
  readonly caughtUpAt?: number;
}

const toWire = (p: StreamPoint): [string, string] => [p.transactionId.toString(), p.position.toString()];
const fromWire = (p: readonly [string, string]): StreamPoint => ({
  transactionId: BigInt(p[0]),
  position: BigInt(p[1]),
});

/** Encodes an update (with an optional caught-up time). */
export function encodeUpdate(update: ConsistencyUpdate, caughtUpAt?: number): Uint8Array {
  const views: Partial<Record<ViewName, [string, string]>> = {};
  for (const [view, point] of Object.entries(update.views) as [ViewName, StreamPoint][])
    views[view] = toWire(point);
  const wire: WireUpdate = {
    views,
    complete: toWire(update.complete),
    completeSeq: update.completeSeq,
    invalidations: update.invalidations,
    ...(caughtUpAt === undefined ? {} : { caughtUpAt }),
  };
  return new TextEncoder().encode(JSON.stringify(wire));
}

/** Decodes an update. */
export function decodeUpdate(bytes: Uint8Array): ConsistencyUpdate & { caughtUpAt?: number } {
  const wire = JSON.parse(new TextDecoder().decode(bytes)) as WireUpdate;
  const views: Partial<Record<ViewName, StreamPoint>> = {};
  for (const [view, point] of Object.entries(wire.views) as [ViewName, [string, string]][]) {
    views[view] = fromWire(point);
  }
  return {
    views,
    complete: fromWire(wire.complete),
    completeSeq: wire.completeSeq,
    invalidations: wire.invalidations,
    ...(wire.caughtUpAt === undefined ? {} : { caughtUpAt: wire.caughtUpAt }),
  };
}
