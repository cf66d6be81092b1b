/**
 * Adding a seventh view is one definition plus one registry line: registering a test view beside the six
 * gives its consistency rules, its query→view map and its refresh checks, with nothing else written.
 */
import { describe, expect, test } from "bun:test";
import { AppError } from "../errors";
import type { RuleEvent } from "./consistency-rules";
import { byUserId, defineView, keys, userScope } from "./view-definition";
import { createViewRegistry } from "./view-registry";
import { viewDefinitions, viewRegistry, viewsOfQuery } from "./views";

/** What a seventh view's file would hold: a user's badges, one row per conversation that earned one. */
const userBadgesView = defineView({
  name: "user_badges_view",
  keyColumn: "badge_id",
  serves: "UserBadge",
  on: { "conversation.ended": keys("badge_id", "conversationId"), "user.deleted": byUserId },
  queries: { ListUserBadges: userScope },
  refreshDelay: 40,
});

/** ... and the registry line. */
const registry = createViewRegistry([...viewDefinitions, userBadgesView]);

const event = (type: string, data: Record<string, unknown>): RuleEvent => ({ type, data });

describe("a seventh view", () => {
  test("is registered last in locking order, the six keeping theirs", () => {
    expect(registry.names).toEqual([...viewRegistry.names, "user_badges_view"]);
    expect(registry.byName.user_badges_view.source).toBe("user_badges_view_source");
    expect(registry.isViewName("user_badges_view")).toBe(true);
  });

  test("its query reads it, and the other queries read what they read before", () => {
    expect(registry.viewsOfQuery.ListUserBadges).toEqual(["user_badges_view"]);
    expect(registry.viewsReadBy("ListUserBadges")).toEqual(["user_badges_view"]);
    const { ListUserBadges: _, ...others } = registry.viewsOfQuery;
    expect(others).toEqual(viewsOfQuery);
  });

  test("the events it declares refresh its rows by the keys it names, and stale its query's answers", () => {
    const ended = event("conversation.ended", { conversationId: "c1", userId: "u1", voiceModelId: "v1" });
    const rule = registry.ruleFor(ended.type);
    expect(rule?.refreshes(ended)).toContainEqual({
      view: "user_badges_view",
      column: "badge_id",
      keys: ["c1"],
    });
    expect(rule?.affectedQueryTypes).toContain("ListUserBadges");
    expect(rule?.invalidations(ended)).toContainEqual({ queryType: "ListUserBadges", tag: "user:u1" });
    // The six views' part of the rule is what it was.
    const before = viewRegistry.ruleFor(ended.type)?.refreshes(ended);
    expect(rule?.refreshes(ended).filter((r) => r.view !== "user_badges_view")).toEqual(before ?? []);
    // Its refresh delay is longer than theirs: the event's rule coalesces for the shortest.
    expect(rule?.refreshDelay).toBe(viewRegistry.ruleFor(ended.type)?.refreshDelay ?? -1);

    const deleted = event("user.deleted", { userId: "u1" });
    expect(registry.ruleFor(deleted.type)?.refreshes(deleted)).toHaveLength(7);
    expect(registry.ruleFor("user.deleted")?.affectedQueryTypes).toContain("ListUserBadges");
  });

  test("events it does not declare leave it alone", () => {
    const e = event("document.uploaded", { documentId: "d1", userId: "u1" });
    expect(registry.ruleFor(e.type)?.refreshes(e)).toEqual(viewRegistry.ruleFor(e.type)?.refreshes(e) ?? []);
    expect(registry.ruleFor(e.type)?.affectedQueryTypes).not.toContain("ListUserBadges");
  });

  test("a keyed refresh may select its rows by its key or by user_id, nothing else", () => {
    expect(registry.isRefreshColumn("user_badges_view", "badge_id")).toBe(true);
    expect(registry.isRefreshColumn("user_badges_view", "user_id")).toBe(true);
    expect(registry.isRefreshColumn("user_badges_view", "conversation_id")).toBe(false);
  });

  test("an event touching only it coalesces for its own delay", () => {
    const only = createViewRegistry([userBadgesView]);
    expect(only.rules.map((r) => [r.eventType, r.refreshDelay])).toEqual([
      ["user.deleted", 40],
      ["conversation.ended", 40],
    ]);
  });
});

describe("a registry that contradicts itself is refused", () => {
  const refused = (build: () => unknown) => {
    try {
      build();
    } catch (error) {
      return error instanceof AppError && error.code === "INTERNAL" ? error.message : `other: ${error}`;
    }
    return "accepted";
  };

  test("a view defined twice", () => {
    expect(refused(() => createViewRegistry([userBadgesView, userBadgesView]))).toContain("defined twice");
  });

  test("an event keyed by a column the view cannot be refreshed by", () => {
    const wrong = defineView({
      ...userBadgesView,
      on: { "conversation.ended": keys("conversation_id", "x") },
    });
    expect(refused(() => createViewRegistry([wrong]))).toContain('cannot be refreshed by "conversation_id"');
  });

  test("a query whose answers two views tag differently", () => {
    const other = defineView({
      ...userBadgesView,
      name: "other_view",
      queries: { ListUserBadges: { field: "conversationId", tag: (id: string) => `conversation:${id}` } },
    });
    expect(refused(() => createViewRegistry([userBadgesView, other]))).toContain("two cache scopes");
  });
});
