import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { commandTypes } from "../../domain";
import { AppError } from "../../errors";
import type { Breaker } from "./request-arbitraries";
import { requestCases } from "./request-cases";
import { validateCommandRequest } from "./validate-command";

/** A valid message and a set of its fields broken, each with a bad value. */
function brokenMessages(valid: fc.Arbitrary<Record<string, unknown>>, breakers: readonly Breaker[]) {
  const broken = fc
    .subarray([...breakers])
    .chain((chosen) => fc.tuple(...chosen.map((b) => b.bad.map((value) => ({ breaker: b, value })))));
  return fc.tuple(valid, broken).map(([message, breaks]) => {
    const copy: Record<string, unknown> = { ...message };
    for (const { breaker, value } of breaks) breaker.set(copy, value);
    return { message: copy, fields: breaks.map((b) => b.breaker.field).sort() };
  });
}

describe("validateCommand (properties)", () => {
  test("every RPC has generators", () => {
    expect(new Set(requestCases.map((c) => c.rpc))).toEqual(new Set(commandTypes));
  });

  for (const c of requestCases) {
    test(`${c.name}: k broken fields yield exactly k violations, on those fields`, () => {
      fc.assert(
        fc.property(brokenMessages(c.valid, c.breakers), ({ message, fields }) => {
          let ids = 0;
          const newId = () => `generated-${++ids}`;
          try {
            validateCommandRequest(c.rpc, message, newId);
          } catch (error) {
            if (!(error instanceof AppError)) throw error;
            expect(error.code).toBe("INVALID_ARGUMENT");
            expect(error.violations.map((v) => v.field).sort()).toEqual(fields);
            expect(ids).toBe(0);
            return;
          }
          expect(fields).toEqual([]);
        }),
        { numRuns: 300 },
      );
    });

    test(`${c.name}: valid requests never throw and get every empty id generated`, () => {
      fc.assert(
        fc.property(c.valid, (message) => {
          let ids = 0;
          const newId = () => `generated-${++ids}`;
          const { command, options } = validateCommandRequest(c.rpc, message, newId);
          expect(command.type).toBe(c.rpc);
          const generatable = ["userId", "voiceModelId", "faceModelId", "documentId", "conversationId"];
          const empty = Object.entries(message).filter(([k, v]) => v === "" && generatable.includes(k));
          // Empty model ids of StartConversation mean "the active one" (null), not a new id.
          const expected =
            c.rpc === "StartConversation" ? empty.filter(([k]) => k === "conversationId") : empty;
          expect(ids).toBe(expected.length);
          const given = message.options as { commandId: string; expectedVersion?: bigint } | undefined;
          expect(options).toEqual({
            commandId: given?.commandId ?? "",
            expectedVersion: given?.expectedVersion,
          });
        }),
        { numRuns: 200 },
      );
    });
  }
});
