import { describe, expect, test } from "bun:test";
import { combineParts, PART_SCOPE } from "./combined-statement";
import { SqlBuilder } from "./sql-builder";

function part(kind: "turn" | "user", id: string) {
  const b = new SqlBuilder().scoped(PART_SCOPE);
  b.cte("state", `UPDATE ${kind}s SET n = n + 1 WHERE id = ${b.param(id, "uuid")} RETURNING 1`);
  b.cte("stored", `INSERT INTO results (id) SELECT ${b.param(`${id}-r`, "text")} FROM ${b.ref("state")}`);
  return b.part(`(SELECT count(*) FROM ${b.ref("state")})::int AS state_rows`);
}

describe("combineParts", () => {
  test("one part keeps its plain names and is prepared at once", () => {
    const { statement, order } = combineParts([part("user", "u1")]);
    expect(statement.text).toBe(
      "WITH state AS (UPDATE users SET n = n + 1 WHERE id = $1::uuid RETURNING 1),\n" +
        "stored AS (INSERT INTO results (id) SELECT $2::text FROM state)\n" +
        "SELECT 0 AS i, (SELECT count(*) FROM state)::int AS state_rows",
    );
    expect(statement.values).toEqual(["u1", "u1-r"]);
    expect(statement.name).toMatch(/^s_[0-9a-f]{16}$/);
    expect(order).toEqual([0]);
  });

  test("parts are ordered by shape, renamed and renumbered; each result row's i maps back to its part", () => {
    const { statement, order } = combineParts([part("user", "u1"), part("turn", "t1"), part("user", "u2")]);
    // Shape order, the order in which this thread first saw each shape (the user's in the test above): both
    // users in their given order, then the turn.
    expect(order).toEqual([0, 2, 1]);
    expect(statement.values).toEqual(["u1", "u1-r", "u2", "u2-r", "t1", "t1-r"]);
    expect(statement.text).toContain(
      "c0_state AS (UPDATE users SET n = n + 1 WHERE id = $1::uuid RETURNING 1)",
    );
    expect(statement.text).toContain(
      "c2_state AS (UPDATE turns SET n = n + 1 WHERE id = $5::uuid RETURNING 1)",
    );
    expect(statement.text).toContain("c1_stored AS (INSERT INTO results (id) SELECT $4::text FROM c1_state)");
    expect(statement.text).toContain("SELECT 2 AS i, (SELECT count(*) FROM c2_state)::int AS state_rows");
    expect(statement.text).not.toContain(PART_SCOPE);
  });

  test("a batch's text depends only on its shapes, and is prepared from its second use on", () => {
    const first = combineParts([part("user", "a"), part("turn", "b"), part("turn", "c")]).statement;
    const second = combineParts([part("turn", "x"), part("user", "y"), part("turn", "z")]).statement;
    expect(second.text).toBe(first.text);
    expect(first.name).toBeUndefined();
    expect(second.name).toMatch(/^s_[0-9a-f]{16}$/);
  });

  test("a batch of more than 16 parts is never prepared", () => {
    const many = () => Array.from({ length: 17 }, (_, i) => part("turn", `t${i}`));
    combineParts(many());
    expect(combineParts(many()).statement.name).toBeUndefined();
  });
});
