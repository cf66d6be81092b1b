import { describe, expect, test } from "bun:test";
import { aggregateTypes } from "./aggregate";
import { commandTypes } from "./commands";
import { eventTypes } from "./events";
import { aggregates } from "./registry";

const definitions = Object.values(aggregates);

describe("the aggregate registry", () => {
  test("has one definition per aggregate type, under its own type", () => {
    expect(Object.keys(aggregates).sort()).toEqual([...aggregateTypes].sort());
    for (const type of aggregateTypes) expect(aggregates[type].type).toBe(type);
  });

  test("each definition starts from version 0; its event types carry its type as prefix", () => {
    for (const definition of definitions) {
      expect(definition.decider.initialState().version).toBe(0);
      for (const type of definition.eventTypes) expect(type.startsWith(`${definition.type}.`)).toBe(true);
    }
    expect(eventTypes).toEqual(definitions.flatMap((d) => d.eventTypes));
  });

  test("access rules name real commands; the privileged and creating commands are API.md's", () => {
    for (const definition of definitions) {
      for (const type of [...definition.access.privileged, ...definition.access.creates]) {
        expect(commandTypes).toContain(type);
        expect(definition.commandTypes).toContain(type);
      }
    }
    // API.md, "Who may do what", for the aggregates it documents.
    const apiMd = {
      user: { privileged: [], creates: ["CreateUser"] },
      voice_model: { privileged: ["CompleteVoiceModelTraining"], creates: ["RegisterVoiceModel"] },
      face_model: { privileged: ["CompleteFaceModelTraining"], creates: ["RegisterFaceModel"] },
      document: { privileged: ["RecordDocumentProcessing"], creates: ["UploadDocument"] },
      conversation: { privileged: [], creates: ["StartConversation"] },
    };
    for (const [type, access] of Object.entries(apiMd)) {
      const actual: unknown = aggregates[type as keyof typeof apiMd].access;
      expect(actual).toEqual(access);
    }
  });

  test("only conversations are kept between commands", () => {
    expect(definitions.filter((d) => d.keepState).map((d) => d.type)).toEqual(["conversation"]);
  });
});
