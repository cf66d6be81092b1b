/**
 * The message the outbox relay puts on the EVENTS stream: one JSON object per event, plus headers that repeat
 * its place in the published order so a consumer can route or skip a message without parsing the body.
 *
 * `position` and `transactionId` are decimal strings: they are Postgres bigint / xid8 and may pass 2^53.
 * `token` is the consistency token of the event ({@link encodeToken}); a read model that has applied this
 * event has applied every event published before it.
 */
import { z } from "zod";
import { encodeToken, type StreamPoint } from "../contracts";
import { AppError } from "../errors/app-error";

/** An event as published on the EVENTS stream; consumers decode it with {@link decodePublishedEvent}. */
export interface PublishedEvent {
  readonly eventId: string;
  /** `<aggregate_type>.<what happened>`, e.g. `user.created`; also the last subject tokens. */
  readonly type: string;
  readonly aggregateType: string;
  readonly aggregateId: string;
  readonly aggregateVersion: number;
  /** Outbox position, a decimal string. */
  readonly position: string;
  /** The writer's Postgres transaction id (xid8), a decimal string. */
  readonly transactionId: string;
  /** Consistency token of (transactionId, position). */
  readonly token: string;
  /** When the writing transaction appended the event, ISO 8601 (millisecond precision). */
  readonly committedAt: string;
  /** The event payload (the `events.payload` column). */
  readonly data: Record<string, unknown>;
  /** The event metadata (the `events.metadata` column). */
  readonly metadata: Record<string, unknown>;
}

/** Header names set on every published event message. */
export const PUBLISHED_EVENT_HEADERS = {
  position: "Clone-Event-Position",
  transactionId: "Clone-Transaction-Id",
  token: "Clone-Consistency-Token",
  aggregateId: "Clone-Aggregate-Id",
  aggregateVersion: "Clone-Aggregate-Version",
  committedAt: "Clone-Committed-At",
} as const;

const decimal = z.string().regex(/^\d{1,20}$/);

const publishedEventSchema = z.object({
  eventId: z.uuid(),
  type: z.string().regex(/^[a-z_]+\.[a-z_]+$/),
  aggregateType: z.string().min(1),
  aggregateId: z.uuid(),
  aggregateVersion: z.number().int().min(1),
  position: decimal,
  transactionId: decimal,
  token: z.string().startsWith("c1."),
  committedAt: z.iso.datetime({ offset: true }),
  data: z.record(z.string(), z.unknown()),
  metadata: z.record(z.string(), z.unknown()),
});

/** Where an event stands in the published order. */
export function pointOfPublishedEvent(event: PublishedEvent): StreamPoint {
  return { transactionId: BigInt(event.transactionId), position: BigInt(event.position) };
}

/** The fields of a published event other than its token, which is derived. */
export type PublishedEventFields = Omit<PublishedEvent, "token">;

/** Builds a {@link PublishedEvent}, deriving the token from (transactionId, position). */
export function createPublishedEvent(fields: PublishedEventFields): PublishedEvent {
  const token = encodeToken({
    transactionId: BigInt(fields.transactionId),
    position: BigInt(fields.position),
  });
  return { ...fields, token };
}

/** The message body: UTF-8 JSON. */
export function encodePublishedEvent(event: PublishedEvent): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(event));
}

/**
 * Decodes a message body of the EVENTS stream.
 * @throws AppError INTERNAL when the bytes are not a published event (a poison message; the cause says why).
 */
export function decodePublishedEvent(bytes: Uint8Array): PublishedEvent {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes));
  } catch (error) {
    throw new AppError("INTERNAL", "not a published event: the body is not JSON", { cause: error });
  }
  const parsed = publishedEventSchema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join(".") || "(body)"}: ${i.message}`);
    throw new AppError("INTERNAL", `not a published event: ${problems.join("; ")}`, { cause: parsed.error });
  }
  return parsed.data;
}

/** Header values of an event message, by header name. */
export function publishedEventHeaderValues(event: PublishedEvent): ReadonlyArray<readonly [string, string]> {
  const h = PUBLISHED_EVENT_HEADERS;
  return [
    [h.position, event.position],
    [h.transactionId, event.transactionId],
    [h.token, event.token],
    [h.aggregateId, event.aggregateId],
    [h.aggregateVersion, String(event.aggregateVersion)],
    [h.committedAt, event.committedAt],
  ];
}
