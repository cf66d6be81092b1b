/**
 * Consistency tokens: where an event stands in the order the relay publishes the outbox.
 *
 * Transactions may commit in another order than they drew outbox positions, so the relay publishes in
 * (transaction id, position) order, which never goes back (see sql/0002_command_path.sql). A token is that pair;
 * a view that has applied the event at token T has applied every event ordered before T. Callers treat the
 * string as opaque.
 */

/** A point in the published event order. */
export interface StreamPoint {
  /** The writer's transaction id (Postgres xid8). */
  readonly transactionId: bigint;
  /** The event's outbox position. */
  readonly position: bigint;
}

/** The point before every event. */
export const ORIGIN: StreamPoint = { transactionId: 0n, position: 0n };

/** Encodes a point as an opaque token (`"c1." + base64url("xid:position")`). */
export function encodeToken(point: StreamPoint): string {
  return `c1.${Buffer.from(`${point.transactionId}:${point.position}`).toString("base64url")}`;
}

/** Decodes a token; undefined when it is not one (the caller reports INVALID_ARGUMENT). */
export function decodeToken(token: string): StreamPoint | undefined {
  if (!token.startsWith("c1.")) return undefined;
  const match = /^(\d{1,20}):(\d{1,20})$/.exec(Buffer.from(token.slice(3), "base64url").toString());
  if (!match) return undefined;
  return { transactionId: BigInt(match[1] as string), position: BigInt(match[2] as string) };
}

/** Orders two points: negative when a is before b, 0 when equal, positive after. */
export function comparePoints(a: StreamPoint, b: StreamPoint): number {
  if (a.transactionId !== b.transactionId) return a.transactionId < b.transactionId ? -1 : 1;
  if (a.position !== b.position) return a.position < b.position ? -1 : 1;
  return 0;
}
