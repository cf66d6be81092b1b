/** The aggregate types of the domain and the address of one aggregate. */

/** Every aggregate type; also the prefix of its event types (`voice_model.trained`). */
export const aggregateTypes = ["user", "voice_model", "face_model", "document", "conversation"] as const;

/** An aggregate type. */
export type AggregateType = (typeof aggregateTypes)[number];

/** One aggregate: its type and id; the routing key of its mailbox. */
export interface AggregateRef {
  readonly type: AggregateType;
  readonly id: string;
}
