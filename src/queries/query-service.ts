/**
 * `clone.v1.QueryService`: one implementation for every transport. Every unary read goes through the query
 * bus; WatchConversation streams turns (see watch-conversation.ts).
 */

import type { CallContext, ServiceRegistration } from "../gateway";
import { registerService, requireActor } from "../gateway";
import { QueryService } from "../gen/clone/v1/query_service_pb";
import type { QueryDeps } from "./definitions/common";
import { getConversationHistory, listConversations } from "./definitions/conversations";
import { listDocuments, searchDocuments } from "./definitions/documents";
import { getAggregateHistory } from "./definitions/history";
import { listModels } from "./definitions/models";
import { getUserProfile, getUserStatistics } from "./definitions/users";
import type { QueryBus, QueryDefinition, QueryOptionsData } from "./query-bus";
import { createWatchConversation, type WatchDeps } from "./watch-conversation";

/** Creates the query service over the query bus. */
export function createQueryService(deps: QueryDeps & WatchDeps & { bus: QueryBus }): ServiceRegistration {
  function unary<P>(definition: QueryDefinition<P>) {
    return async (request: object, ctx: CallContext) => {
      const { payload, meta } = await deps.bus.execute(
        definition,
        request as { options?: QueryOptionsData },
        requireActor(ctx.actor),
        ctx.signal,
        ctx.deadline,
      );
      return { ...payload, meta };
    };
  }
  return registerService(QueryService, {
    getUserProfile: unary(getUserProfile(deps)),
    getUserStatistics: unary(getUserStatistics(deps)),
    listDocuments: unary(listDocuments(deps)),
    searchDocuments: unary(searchDocuments(deps)),
    listConversations: unary(listConversations(deps)),
    getConversationHistory: unary(getConversationHistory(deps)),
    listVoiceModels: unary(listModels(deps, "voice")),
    listFaceModels: unary(listModels(deps, "face")),
    getAggregateHistory: unary(getAggregateHistory(deps)),
    watchConversation: createWatchConversation(deps),
  });
}
