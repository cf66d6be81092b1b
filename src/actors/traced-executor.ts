/**
 * Tracing of a command batch (while tracing is on; otherwise the executor runs as it is). A group commit
 * serves several commands, each with a trace of its own, so it is traced with span links: the batch gets a
 * `command.batch` span (a root linked to each command's `command.process` span), under which its read and
 * its write statement run; and each command gets a `command.apply` span in its own trace (a child of its
 * `command.process` span, linked to the batch span) for as long as the batch runs. The command's envelope
 * then carries its `command.apply` context, which the events it writes keep in their metadata.
 */
import type { CommandEnvelope, CommandOutcome } from "../contracts";
import { startBatchSpans, traceparentOfSpan, tracingOn, withContext } from "../tracing";
import type { CommandExecutor } from "./executor";

/** Wraps an executor with batch and per-command spans; with tracing off, one boolean check per batch. */
export function traceBatches(execute: CommandExecutor): CommandExecutor {
  return async (batch) => {
    if (!tracingOn()) return execute(batch);
    const spans = startBatchSpans(
      "command.batch",
      "command.apply",
      batch.map((e) => e.traceparent),
    );
    const traced = batch.map((envelope, i): CommandEnvelope => {
      const span = spans.items[i];
      span?.setAttributes({
        "clone.command_id": envelope.commandId,
        "clone.command_type": envelope.commandType,
        "clone.aggregate_id": envelope.aggregateId,
      });
      return span === undefined ? envelope : { ...envelope, traceparent: traceparentOfSpan(span) as string };
    });
    let outcomes: readonly CommandOutcome[];
    try {
      outcomes = await withContext(spans.context, () => execute(traced));
    } catch (error) {
      spans.end(() => error);
      throw error;
    }
    spans.end((i) => {
      const outcome = outcomes[i];
      return outcome === undefined || outcome.ok ? undefined : outcome.error.code;
    });
    return outcomes;
  };
}
