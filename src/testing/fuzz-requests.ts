/**
 * Random requests for every RPC of the API, on every wire (what API.md allows as their answers: fuzz-run.ts).
 * Used by the fuzz test (src/http/fuzz.e2e.test.ts) and the `bun run fuzz` benchmark (bench/fuzz.ts).
 *
 * A case is a message built from the method's descriptor with values chosen to sit on the edges (ids, empty
 * and boundary-length text, U+0000, unpaired surrogates, 4-byte characters, boundary numbers, declared and
 * undeclared enum values, content around 2 MiB), or random bytes, or a valid encoding cut or with bytes
 * changed; sent with no token, a garbage one, a user's or an admin's. The oracle knows only the rules the
 * input itself decides (NUL is INVALID_ARGUMENT on every wire, no token is UNAUTHENTICATED or
 * INVALID_ARGUMENT...); beyond that any status a caller may cause is allowed, never UNKNOWN, INTERNAL, an
 * HTTP 5xx or a transport failure.
 */
import {
  create,
  type DescField,
  type DescMessage,
  type DescMethod,
  type Message,
  ScalarType,
} from "@bufbuild/protobuf";
import fc from "fast-check";
import { CommandService } from "../gen/clone/v1/command_service_pb";
import { QueryService } from "../gen/clone/v1/query_service_pb";
import { encodeFor, type Wire, wires } from "./raw-rpc";

/** Every RPC the fuzz calls. */
export const fuzzedMethods: readonly DescMethod[] = [...CommandService.methods, ...QueryService.methods];

/** Who calls. */
export type Caller = "none" | "garbage" | "user" | "admin";

/** What the generated input guarantees about its answer. */
interface Marks {
  /** A string holds U+0000: INVALID_ARGUMENT on every wire. */
  nul: boolean;
  /** A string holds an unpaired surrogate: INVALID_ARGUMENT over JSON (binary encoders replace it). */
  surrogate: boolean;
  /** An enum field holds a value its enum does not declare: INVALID_ARGUMENT. */
  undeclaredEnum: boolean;
}

/** One fuzz case. */
export interface FuzzCase {
  readonly method: DescMethod;
  readonly wire: Wire;
  readonly caller: Caller;
  /** "random frames": random bytes as the whole HTTP body of gRPC-web (framing included). */
  readonly kind: "message" | "random bytes" | "mangled" | "random frames";
  readonly body: Uint8Array;
  readonly marks: Marks;
}

const MiB = 1024 * 1024;
const boundaryLengths = [
  0, 1, 2, 99, 100, 101, 253, 254, 255, 299, 300, 301, 999, 1000, 1001, 10_000, 10_001,
];
const specials = [
  "\u0000",
  "\ud800",
  "\udfff",
  "😀",
  "\u{10ffff}",
  "\ufffd",
  "\u200b",
  "é",
  " ",
  "%",
  "'",
  "\\",
];

/** A string around the edges; `marks` records what it holds. */
function text(marks: Marks): fc.Arbitrary<string> {
  const plain = fc.oneof(
    fc.uuid(),
    fc.constantFrom("", "a@b.io", "ADA@EXAMPLE.COM", "text/plain", "text/markdown", "application/json", "x"),
    fc
      .tuple(fc.constantFrom(...boundaryLengths), fc.constantFrom("a", "😀", "é"))
      .map(([n, c]) => c.repeat(n)),
    fc.string({ unit: "binary", maxLength: 40 }),
  );
  return fc
    .tuple(plain, fc.option(fc.tuple(fc.constantFrom(...specials), fc.nat()), { freq: 3 }))
    .map(([s, inject]) => {
      if (inject === null) return s;
      const [special, at] = inject;
      const i = s.length === 0 ? 0 : at % s.length;
      const out = s.slice(0, i) + special + s.slice(i);
      if (out.includes("\u0000")) marks.nul = true;
      if (/\p{Cs}/u.test(out)) marks.surrogate = true;
      return out;
    });
}

/**
 * A value the field's rules likely accept (by field name), so that many requests pass validation and reach
 * the handlers, the workers and Postgres; ids come from `ids` half of the time, so that commands meet
 * aggregates earlier ones created.
 */
function likelyValid(field: DescField, ids: readonly string[]): fc.Arbitrary<unknown> | undefined {
  const name = field.name;
  if (field.fieldKind === "enum") {
    const declared = field.enum.values.map((v) => v.number).filter((n) => n !== 0);
    return declared.length > 0 ? fc.constantFrom(...declared) : undefined;
  }
  if (field.fieldKind !== "scalar") return undefined;
  if (field.scalar === ScalarType.STRING) {
    if (name.endsWith("_id") && name !== "command_id") return fc.oneof(fc.constantFrom(...ids), fc.uuid());
    if (name === "email") return fc.emailAddress();
    if (name === "content_type") return fc.constantFrom("text/plain", "text/markdown", "application/json");
    if (name.endsWith("token") || name === "command_id") return fc.constant("");
    return fc.string({ minLength: 1, maxLength: 30 }).filter((t) => t.trim() !== "");
  }
  if (field.scalar === ScalarType.DOUBLE) return fc.double({ min: 0.01, max: 1, noNaN: true });
  if (field.scalar === ScalarType.INT64) return fc.bigInt({ min: 0n, max: 3n });
  if (field.scalar === ScalarType.BYTES) return fc.uint8Array({ minLength: 1, maxLength: 200 });
  if (field.scalar === ScalarType.UINT32 || field.scalar === ScalarType.INT32) return fc.nat({ max: 1000 });
  return undefined;
}

function scalar(type: ScalarType, marks: Marks): fc.Arbitrary<unknown> {
  switch (type) {
    case ScalarType.STRING:
      return text(marks);
    case ScalarType.BOOL:
      return fc.boolean();
    case ScalarType.BYTES:
      return fc.oneof(
        { weight: 20, arbitrary: fc.uint8Array({ maxLength: 64 }) },
        {
          weight: 1,
          arbitrary: fc
            .constantFrom(2 * MiB, 2 * MiB + 1, 3 * MiB, 4 * MiB + 1)
            .map((n) => new Uint8Array(n).fill(97)),
        },
      );
    case ScalarType.DOUBLE:
    case ScalarType.FLOAT:
      return fc.oneof(fc.double(), fc.constantFrom(0, -0, 1, 0.5, -1, Number.NaN, Number.POSITIVE_INFINITY));
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
      return fc.oneof(
        fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
        fc.constantFrom(0n, 1n, -1n, 2n ** 63n - 1n),
      );
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return fc.oneof(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.constantFrom(0n, 1n, 2n ** 64n - 1n));
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return fc.oneof(fc.nat(), fc.constantFrom(0, 1, 0xffff_ffff));
    default:
      return fc.oneof(fc.integer(), fc.constantFrom(0, 1, -1, 500, 501, 2 ** 31 - 1, -(2 ** 31)));
  }
}

function enumValue(field: DescField & { enum?: { values: { number: number }[] } }, marks: Marks) {
  const declared = field.enum?.values.map((v) => v.number) ?? [0];
  return fc.oneof(
    { weight: 9, arbitrary: fc.constantFrom(...declared) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(-1, 99, 2 ** 31 - 1).map((n) => {
        marks.undeclaredEnum = true;
        return n;
      }),
    },
  );
}

function fieldValue(
  field: DescField,
  marks: Marks,
  depth: number,
  ids: readonly string[],
): fc.Arbitrary<unknown> {
  const valid = likelyValid(field, ids);
  const edge = edgeValue(field, marks, depth, ids);
  return valid === undefined
    ? edge
    : fc.oneof({ weight: 6, arbitrary: valid }, { weight: 1, arbitrary: edge });
}

function edgeValue(
  field: DescField,
  marks: Marks,
  depth: number,
  ids: readonly string[],
): fc.Arbitrary<unknown> {
  switch (field.fieldKind) {
    case "scalar":
      return scalar(field.scalar, marks);
    case "enum":
      return enumValue(field, marks);
    case "message":
      return depth > 2 ? fc.constant(undefined) : messageInit(field.message, marks, ids, depth + 1);
    case "list":
      if (field.listKind === "scalar") return fc.array(scalar(field.scalar, marks), { maxLength: 4 });
      if (field.listKind === "enum") return fc.array(enumValue(field, marks), { maxLength: 4 });
      return depth > 2
        ? fc.constant([])
        : fc.array(messageInit(field.message, marks, ids, depth + 1), { maxLength: 2 });
    case "map":
      return fc.constant({});
  }
}

/** The init shape of a message: each field set or not. */
function messageInit(
  desc: DescMessage,
  marks: Marks,
  ids: readonly string[],
  depth = 0,
): fc.Arbitrary<Record<string, unknown>> {
  const fields = desc.fields.filter((f) => f.oneof === undefined);
  const shape = Object.fromEntries(fields.map((f) => [f.localName, fieldValue(f, marks, depth, ids)]));
  // Every field set, or any subset of them.
  return fc.oneof(fc.record(shape), fc.record(shape, { requiredKeys: [] }));
}

const fresh = (): Marks => ({ nul: false, surrogate: false, undeclaredEnum: false });

/** A message of `method`'s input type, encoded for `wire`. */
function messageBody(
  method: DescMethod,
  wire: Wire,
  ids: readonly string[],
): fc.Arbitrary<{ body: Uint8Array; marks: Marks }> {
  // The marks are set while the values are drawn, in a fresh object per draw (sample, do not shrink).
  return fc.constant(null).chain(() => {
    const marks = fresh();
    return messageInit(method.input, marks, ids).map((init) => {
      const message: Message = create(method.input, init as never);
      return { body: encodeFor(wire, method.input, message), marks: { ...marks } };
    });
  });
}

/**
 * Any fuzz case (on one of `onWires`); `ids` are aggregate ids to use often (the first is the `user` caller's own). Draw with
 * `fc.sample`: the oracle's marks are recorded while values are drawn and would not follow a shrink.
 */
export function fuzzCase(ids: readonly string[], onWires: readonly Wire[] = wires): fc.Arbitrary<FuzzCase> {
  return fc
    .record({
      method: fc.constantFrom(...fuzzedMethods),
      wire: fc.constantFrom(...onWires),
      caller: fc.constantFrom<Caller>("none", "garbage", "user", "admin", "admin"),
      kind: fc.constantFrom<FuzzCase["kind"]>("message", "message", "message", "random bytes", "mangled"),
      frames: fc.boolean(),
    })
    .chain(({ method, wire, caller, kind: drawn, frames }) => {
      const kind = drawn === "random bytes" && frames && wire === "grpc-web" ? "random frames" : drawn;
      const base = messageBody(method, wire, ids);
      const body: fc.Arbitrary<{ body: Uint8Array; marks: Marks }> =
        kind === "message"
          ? base
          : kind === "random bytes" || kind === "random frames"
            ? fc.uint8Array({ maxLength: 256 }).map((b) => ({ body: b, marks: fresh() }))
            : fc
                .tuple(base, fc.nat(), fc.integer({ min: 0, max: 255 }), fc.boolean())
                .map(([m, at, byte, cut]) => {
                  const b = m.body.slice();
                  if (b.length > 0 && cut) return { body: b.subarray(0, at % b.length), marks: fresh() };
                  if (b.length > 0) b[at % b.length] = byte;
                  return { body: b, marks: fresh() };
                });
      return body.map(({ body: bytes, marks }) => ({ method, wire, caller, kind, body: bytes, marks }));
    });
}
