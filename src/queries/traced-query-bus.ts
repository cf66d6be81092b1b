/**
 * A span per query, while tracing is on: `query <QueryType>`, a child of the call's SERVER span, with
 * `meta.source` (CACHE, VIEW or WRITE_MODEL: where the answer came from) and `meta.from_cache`.
 */
import { AnswerSource } from "../gen/clone/v1/enums_pb";
import { inSpan, tracingOn } from "../tracing";
import type { QueryBus } from "./query-bus";

/** Wraps a bus; with tracing off each query costs one boolean check more. */
export function traceQueries(bus: QueryBus): QueryBus {
  return {
    execute(definition, request, actor, signal, deadline) {
      if (!tracingOn()) return bus.execute(definition, request, actor, signal, deadline);
      return inSpan(
        `query ${definition.queryType}`,
        { attributes: { "clone.query_type": definition.queryType } },
        async (span) => {
          const answer = await bus.execute(definition, request, actor, signal, deadline);
          span.setAttributes({
            "meta.source": AnswerSource[answer.meta.source] ?? String(answer.meta.source),
            "meta.from_cache": answer.meta.fromCache,
          });
          return answer;
        },
      );
    },
  };
}
