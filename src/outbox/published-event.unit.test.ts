import { describe, expect, test } from "bun:test";
import { decodeToken } from "../contracts";
import { AppError } from "../errors/app-error";
import { toPublishedEvent } from "./outbox-row";
import {
  decodePublishedEvent,
  encodePublishedEvent,
  PUBLISHED_EVENT_HEADERS,
  pointOfPublishedEvent,
  publishedEventHeaderValues,
} from "./published-event";

const row = {
  event_id: "0b7f5a34-8d4e-4f5b-9b1e-3c2d1a0f9e8d",
  type: "user.created",
  aggregate_type: "user",
  aggregate_id: "5d0c1e2f-3a4b-4c5d-8e6f-7a8b9c0d1e2f",
  aggregate_version: "3",
  position: "9007199254740993",
  transaction_id: "18446744073709551615",
  committed_at: new Date("2024-05-06T07:08:09.123Z"),
  payload: { displayName: "Ada" },
  metadata: { command_id: "c-1" },
};

describe("published events", () => {
  test("a row becomes an event whose token is its (transaction id, position), beyond 2^53", () => {
    const event = toPublishedEvent(row);

    expect(event).toMatchObject({
      eventId: row.event_id,
      aggregateVersion: 3,
      position: "9007199254740993",
      transactionId: "18446744073709551615",
      committedAt: "2024-05-06T07:08:09.123Z",
      data: { displayName: "Ada" },
      metadata: { command_id: "c-1" },
    });
    const point = { transactionId: 18446744073709551615n, position: 9007199254740993n };
    expect(decodeToken(event.token)).toEqual(point);
    expect(pointOfPublishedEvent(event)).toEqual(point);
  });

  test("encode then decode gives the event back", () => {
    const event = toPublishedEvent(row);
    expect(decodePublishedEvent(encodePublishedEvent(event))).toEqual(event);
  });

  test("headers repeat the event's place in the order", () => {
    const event = toPublishedEvent(row);
    expect(Object.fromEntries(publishedEventHeaderValues(event))).toEqual({
      [PUBLISHED_EVENT_HEADERS.position]: event.position,
      [PUBLISHED_EVENT_HEADERS.transactionId]: event.transactionId,
      [PUBLISHED_EVENT_HEADERS.token]: event.token,
      [PUBLISHED_EVENT_HEADERS.aggregateId]: event.aggregateId,
      [PUBLISHED_EVENT_HEADERS.aggregateVersion]: "3",
      [PUBLISHED_EVENT_HEADERS.committedAt]: event.committedAt,
    });
  });

  test("a body that is not a published event is an INTERNAL AppError naming what is wrong", () => {
    const bytes = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
    const event = toPublishedEvent(row);

    expect(() => decodePublishedEvent(new TextEncoder().encode("{nope"))).toThrow(/not JSON/);
    expect(() => decodePublishedEvent(bytes({ ...event, position: 12 }))).toThrow(/position/);
    expect(() => decodePublishedEvent(bytes({ ...event, data: [] }))).toThrow(/data/);
    try {
      decodePublishedEvent(bytes({}));
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(AppError);
      expect((error as AppError).code).toBe("INTERNAL");
    }
  });
});
