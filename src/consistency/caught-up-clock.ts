/**
 * Up to when the read side is complete, for the heartbeat the gateways judge its staleness by (a gateway
 * answers eventual reads from the write model once that time is over READ_FALLBACK_STALENESS_MS old).
 *
 * Idle (nothing pending, nothing received unapplied): now. Busy: the commit time of the oldest event received
 * but not yet applied (everything committed before it is in the views), so a read side that keeps up under a
 * steady load reads a few milliseconds old, and a backlog reads as old as its oldest event. Bounded memory:
 * once `capacity` events wait, later ones are not recorded, and until every one of them is applied the
 * time of the last applied recorded event is reported (older than the truth: never fresher).
 */

/** The clock of one consistency service. */
export interface CaughtUpClock {
  /** An event the coordinator accepted: its stream sequence and commit time (epoch ms). */
  accepted(seq: number, committedAtMs: number): void;
  /**
   * Epoch ms up to which the views are complete, given the sequence up to which every event is applied and
   * whether anything is pending (received or still in the stream).
   */
  caughtUpAt(completeSeq: number, idle: boolean, now: number): number;
}

/** Creates a clock recording at most `capacity` waiting events. */
export function createCaughtUpClock(capacity = 4_096): CaughtUpClock {
  const seqs: number[] = [];
  const times: number[] = [];
  let head = 0;
  /** The last sequence not recorded (the queue was full): none is recorded until it is applied. */
  let skippedUpTo = 0;
  let lastApplied = 0;
  return {
    accepted(seq, committedAtMs) {
      // Full, or still skipping: not recorded (the recorded ones stay the oldest waiting).
      if (skippedUpTo > 0 || seqs.length - head >= capacity) {
        skippedUpTo = seq;
        return;
      }
      seqs.push(seq);
      times.push(committedAtMs);
    },
    caughtUpAt(completeSeq, idle, now) {
      while (head < seqs.length && (seqs[head] as number) <= completeSeq) {
        lastApplied = times[head] as number;
        head++;
      }
      if (head > 1_024 && head * 2 > seqs.length) {
        seqs.splice(0, head);
        times.splice(0, head);
        head = 0;
      }
      if (skippedUpTo > 0 && skippedUpTo <= completeSeq) skippedUpTo = 0;
      if (idle) return now;
      return head < seqs.length ? (times[head] as number) : lastApplied;
    },
  };
}
