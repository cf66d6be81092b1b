/** The pool's connection settings on a real Postgres. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createTestDatabase, type TestDatabase } from "../testing";
import { createPool } from "./pool";

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db.drop());

describe("createPool", () => {
  test("genericPlans connects with plan_cache_mode force_generic_plan; without it Postgres chooses", async () => {
    const generic = createPool(db.url, { max: 1, genericPlans: true });
    const plain = createPool(db.url, { max: 1 });
    try {
      expect((await generic.query("SHOW plan_cache_mode")).rows[0]).toEqual({
        plan_cache_mode: "force_generic_plan",
      });
      expect((await plain.query("SHOW plan_cache_mode")).rows[0]).toEqual({ plan_cache_mode: "auto" });
    } finally {
      await Promise.all([generic.end(), plain.end()]);
    }
  });
});
