/** The aggregate types of the domain (the registry's) and the address of one aggregate. */
import { aggregates } from "./registry";

/** The registry's type. */
export type Registry = typeof aggregates;

/** An aggregate type. */
export type AggregateType = keyof Registry;

/** Every aggregate type, in the registry's order; also the prefix of its event types (`voice_model.trained`). */
export const aggregateTypes = Object.keys(aggregates) as readonly AggregateType[];

/** One aggregate: its type and id; the routing key of its mailbox. */
export interface AggregateRef {
  readonly type: AggregateType;
  readonly id: string;
}
