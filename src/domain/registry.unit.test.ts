import { describe, expect, test } from "bun:test";
import { aggregateTypes } from "./aggregate";
import { commandTypes } from "./commands";
import { aggregates } from "./registry";

const definitions = Object.values(aggregates);

describe("the aggregate registry", () => {
  test("has one definition per aggregate type, under its own type", () => {
    expect(Object.keys(aggregates).sort()).toEqual([...aggregateTypes].sort());
    for (const type of aggregateTypes) expect(aggregates[type].type).toBe(type);
  });

  test("each definition starts from version 0 and has its own table", () => {
    for (const definition of definitions) expect(definition.decider.initialState().version).toBe(0);
    const tables = definitions.map((d) => d.store.table);
    expect(new Set(tables).size).toBe(tables.length);
  });

  test("access rules name real commands; the privileged and creating commands are API.md's", () => {
    const privileged = definitions.flatMap((d) => d.access.privileged);
    const creates = definitions.flatMap((d) => d.access.creates);
    for (const type of [...privileged, ...creates]) expect(commandTypes).toContain(type);
    expect(privileged.sort()).toEqual(
      ["CompleteFaceModelTraining", "CompleteVoiceModelTraining", "RecordDocumentProcessing"].sort(),
    );
    expect(creates.sort()).toEqual(
      ["CreateUser", "RegisterFaceModel", "RegisterVoiceModel", "StartConversation", "UploadDocument"].sort(),
    );
  });

  test("only conversations are kept between commands; only a taken email is ALREADY_EXISTS", () => {
    expect(definitions.filter((d) => d.keepState).map((d) => d.type)).toEqual(["conversation"]);
    expect(definitions.flatMap((d) => Object.keys(d.alreadyExists ?? {}))).toEqual(["users_email_key"]);
  });
});
