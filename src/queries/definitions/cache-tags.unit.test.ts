/**
 * Each cached query's answers are tagged by the scope its view definition gives it (src/read-models/views/),
 * read from its parsed parameters: the tag the consistency rules invalidate when an event touches that view.
 */
import { describe, expect, test } from "bun:test";
import { cacheTagsOf, viewsOfQuery } from "../../read-models";
import type { SqlClient } from "../../write-model";
import { createPageTokens } from "../pagination";
import type { QueryDefinition } from "../query-bus";
import type { QueryDeps } from "./common";
import { getConversationHistory, listConversations } from "./conversations";
import { listDocuments, searchDocuments } from "./documents";
import { getAggregateHistory } from "./history";
import { listModels } from "./models";
import { getUserProfile, getUserStatistics } from "./users";

const deps: QueryDeps = {
  // Parsing reads neither the database nor owners.
  db: {} as SqlClient,
  ownerOf: async () => undefined,
  pageTokens: createPageTokens("a page token secret for tests"),
};
const user = "6f1c1a52-1111-4c3e-9d59-2a6a3c1e0001";
const conversation = "6f1c1a52-2222-4c3e-9d59-2a6a3c1e0002";
const page = { pageSize: 0, pageToken: "" };

const cases: [QueryDefinition<unknown>, Record<string, unknown>, string][] = [
  [getUserProfile(deps), { userId: user }, `user:${user}`],
  [getUserStatistics(deps), { userId: user }, `user:${user}`],
  [listDocuments(deps), { userId: user, status: 0, ...page }, `user:${user}`],
  [searchDocuments(deps), { userId: user, query: "voice", pageSize: 0 }, `user:${user}`],
  [listConversations(deps), { userId: user, ...page }, `user:${user}`],
  [getConversationHistory(deps), { conversationId: conversation, ...page }, `conversation:${conversation}`],
  [listModels(deps, "voice"), { userId: user }, `user:${user}`],
  [listModels(deps, "face"), { userId: user }, `user:${user}`],
];

describe("cache tags of the cached queries", () => {
  test("every cached query type has a case here", () => {
    const queryTypes: string[] = cases.map(([d]) => d.queryType);
    expect(queryTypes.sort()).toEqual(Object.keys(viewsOfQuery).sort());
  });

  for (const [definition, request, tag] of cases) {
    test(`${definition.queryType} answers are tagged ${tag.split(":")[0]}:<id>`, () => {
      const params = definition.parse(request) as Record<string, unknown>;
      expect(cacheTagsOf(definition.queryType, params)).toEqual([tag]);
    });
  }

  test("a query answered from the write model only has no tags (it is never cached)", () => {
    const history = getAggregateHistory(deps);
    const params = history.parse({ aggregateType: 1, aggregateId: user, ...page });
    expect(cacheTagsOf(history.queryType, { ...params })).toEqual([]);
  });
});
