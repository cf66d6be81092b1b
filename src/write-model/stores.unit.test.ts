import { describe, expect, test } from "bun:test";
import { aggregateTypes } from "../domain";
import { aggregateDefinition, aggregateStores } from "./stores";

const tables = Object.values(aggregateStores);

describe("the write model's list of stores", () => {
  test("has the tables of every registered aggregate type, under its own type", () => {
    expect(Object.keys(aggregateStores).sort()).toEqual([...aggregateTypes].sort());
    for (const type of aggregateTypes) {
      expect(aggregateStores[type].type).toBe(type);
      expect(aggregateDefinition(type).type).toBe(type);
      expect(aggregateDefinition(type).store).toBe(aggregateStores[type].store);
    }
  });

  test("each aggregate has its own table", () => {
    const names = tables.map((t) => t.store.table);
    expect(new Set(names).size).toBe(names.length);
  });

  test("only a taken email is ALREADY_EXISTS", () => {
    expect(tables.flatMap((t) => Object.keys(t.alreadyExists ?? {}))).toEqual(["users_email_key"]);
  });
});
