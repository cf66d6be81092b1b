import { describe, expect, test } from "bun:test";
import { create } from "@bufbuild/protobuf";
import { type NullValue, StructSchema } from "@bufbuild/protobuf/wkt";
import fc from "fast-check";
import { AppError } from "../errors";
import {
  CommandService,
  RecordConversationTurnRequestSchema,
  RecordDocumentProcessingRequestSchema,
} from "../gen/clone/v1/command_service_pb";
import { type DocumentStatus, Speaker } from "../gen/clone/v1/enums_pb";
import { ListDocumentsRequestSchema, QueryService } from "../gen/clone/v1/query_service_pb";
import { ServerReflectionRequestSchema } from "../gen/grpc/reflection/v1/reflection_pb";
import type { CallContext } from "./handler";
import { requestRulesInterceptor, requestViolations, textProblem } from "./request-rules";

/** Any code point, NUL, and halves of surrogate pairs (which fast-check's "binary" unit leaves out). */
const anyCodeUnit = fc.oneof(
  fc.string({ unit: "binary", minLength: 1, maxLength: 1 }),
  fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)),
  fc.constant("\u0000"),
);

describe("text Postgres can store", () => {
  test("NUL and unpaired surrogates are refused; pairs, 4-byte characters and the rest pass", () => {
    expect(textProblem("a\u0000b")).toBe("must not contain U+0000 (NUL)");
    expect(textProblem("\ud800")).toContain("unpaired surrogate");
    expect(textProblem("x\udfff")).toContain("unpaired surrogate");
    expect(textProblem("😀 \u00e9 \u{10ffff} \u0001 \ufffd")).toBeUndefined();
    expect(textProblem("")).toBeUndefined();
  });

  test("property: a string is refused exactly when Postgres text would refuse it", () => {
    fc.assert(
      fc.property(fc.string({ unit: anyCodeUnit }), (s) => {
        const refused = textProblem(s) !== undefined;
        // What Postgres stores is the UTF-8 of the string; no NUL and a lossless round trip mean it can.
        const storable = !s.includes("\u0000") && new TextDecoder().decode(new TextEncoder().encode(s)) === s;
        expect(refused).toBe(!storable);
      }),
      { numRuns: 2_000 },
    );
  });
});

describe("every field of every request", () => {
  test("strings at any depth and in lists, by protobuf field path", () => {
    const request = create(RecordDocumentProcessingRequestSchema, {
      options: { commandId: "id\u0000" },
      documentId: "d",
      failureReason: "bad\u0000",
      chunks: ["ok", "lone \ud83d", "fine 😀"],
    });
    expect(requestViolations(RecordDocumentProcessingRequestSchema, request)).toEqual([
      { field: "options.command_id", description: "must not contain U+0000 (NUL)" },
      { field: "failure_reason", description: "must not contain U+0000 (NUL)" },
      { field: "chunks[1]", description: "must be valid Unicode text (it has an unpaired surrogate)" },
    ]);
  });

  test("enum values the enum does not declare", () => {
    const turn = create(RecordConversationTurnRequestSchema, { speaker: 7 as Speaker, text: "hi" });
    expect(requestViolations(RecordConversationTurnRequestSchema, turn)).toEqual([
      { field: "speaker", description: "7 is not a value of clone.v1.Speaker" },
    ]);
    const clone = create(RecordConversationTurnRequestSchema, { speaker: Speaker.CLONE, text: "hi" });
    expect(requestViolations(RecordConversationTurnRequestSchema, clone)).toEqual([]);
    const list = create(ListDocumentsRequestSchema, { status: -1 as DocumentStatus });
    expect(requestViolations(ListDocumentsRequestSchema, list)).toEqual([
      { field: "status", description: "-1 is not a value of clone.v1.DocumentStatus" },
    ]);
  });

  test("map keys and values, oneof cases, and nested and recursive messages", () => {
    const struct = create(StructSchema, {
      fields: {
        ok: { kind: { case: "stringValue", value: "fine" } },
        "bad\u0000key": { kind: { case: "stringValue", value: "lone \ud800" } },
        nested: {
          kind: {
            case: "structValue",
            value: {
              fields: {
                deep: {
                  kind: {
                    case: "listValue",
                    value: {
                      values: [
                        { kind: { case: "numberValue", value: 1 } },
                        { kind: { case: "stringValue", value: "x\u0000" } },
                      ],
                    },
                  },
                },
              },
            },
          },
        },
        null: { kind: { case: "nullValue", value: 5 as NullValue } },
      },
    });
    expect(requestViolations(StructSchema, struct)).toEqual([
      { field: 'fields["bad\\u0000key"]', description: "key must not contain U+0000 (NUL)" },
      {
        field: 'fields["bad\\u0000key"].string_value',
        description: "must be valid Unicode text (it has an unpaired surrogate)",
      },
      {
        field: 'fields["nested"].struct_value.fields["deep"].list_value.values[1].string_value',
        description: "must not contain U+0000 (NUL)",
      },
      { field: 'fields["null"].null_value', description: "5 is not a value of google.protobuf.NullValue" },
    ]);
    const reflection = create(ServerReflectionRequestSchema, {
      host: "h\u0000",
      messageRequest: {
        case: "fileContainingExtension",
        value: { containingType: "\udc00", extensionNumber: 3 },
      },
    });
    expect(requestViolations(ServerReflectionRequestSchema, reflection)).toEqual([
      { field: "host", description: "must not contain U+0000 (NUL)" },
      {
        field: "file_containing_extension.containing_type",
        description: "must be valid Unicode text (it has an unpaired surrogate)",
      },
    ]);
  });

  test("the interceptor refuses with INVALID_ARGUMENT listing every violation, before the next step", async () => {
    const intercept = requestRulesInterceptor([CommandService, QueryService]);
    let reached = 0;
    const next = intercept(async () => {
      reached++;
      return { kind: "unary", message: {} };
    });
    const ctx = {} as CallContext;
    const bad = create(ListDocumentsRequestSchema, { userId: "\u0000", pageToken: "\ud800" });
    const error = await next(bad, ctx).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).code).toBe("INVALID_ARGUMENT");
    expect((error as AppError).message).toBe(
      "user_id: must not contain U+0000 (NUL); page_token: must be valid Unicode text (it has an unpaired surrogate)",
    );
    expect(reached).toBe(0);
    await next(create(ListDocumentsRequestSchema, { userId: "u" }), ctx);
    expect(reached).toBe(1);
  });
});
