/**
 * Poison isolation: failure classification and backoff, the dead-letter store, and the retrier of dead letters
 * an operator asked to run again.
 */
export type { FailureClass, RetryDecision, RetryPolicy } from "./classify";
export {
  backoffMs,
  classifyFailure,
  decideRetry,
  defaultRetryPolicy,
  describeError,
  PoisonError,
  storableText,
} from "./classify";
export type { DeadLetterRetrier, DeadLetterRetrierOptions } from "./retrier";
export { startDeadLetterRetrier } from "./retrier";
export type { DeadLetter, DeadLetterInput, DeadLetterSource } from "./store";
export {
  countDeadLetters,
  deadLetterSources,
  discardDeadLetter,
  getDeadLetter,
  listDeadLetters,
  recordDeadLetter,
  requestRetry,
  resolveDeadLetter,
  takeRetryRequests,
} from "./store";
