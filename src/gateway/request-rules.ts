/**
 * What every request must be, whatever its RPC, checked on the decoded message before anything reads it:
 *
 * - every string (every field, list element and map key or value, at any depth) is text Postgres `text` can
 *   store: no U+0000 (NUL) and no unpaired UTF-16 surrogate (a JS string may hold one; UTF-8 cannot);
 * - every enum field holds a value its enum declares (proto3 enums are open: the binary format carries any
 *   number, and a client built against another version of the API may send one).
 *
 * One rule for every field, read from the descriptors, so a field added later is covered without a line
 * here. A request that breaks it is refused like one that does not decode: INVALID_ARGUMENT, every violation
 * named by its protobuf field path, before authentication (the same on every transport).
 *
 * The limits and the answer for requests that do not decode or are too large live here too, so that every
 * transport reports them in the same words.
 */
import type { DescEnum, DescField, DescMessage, DescOneof, DescService, Message } from "@bufbuild/protobuf";
import { ScalarType } from "@bufbuild/protobuf";
import { AppError, type FieldViolation } from "../errors";
import type { Interceptor } from "./handler";

/** The largest request message the gateway reads, on every transport (a 2 MiB document and its fields fit). */
export const maxRequestBytes = 4 * 1024 * 1024;

/** An unpaired surrogate (in `u` mode a pair is one code point, so only a lone half matches). */
const loneSurrogate = /\p{Cs}/u;

/** Why a string cannot be stored, or undefined when it can. */
export function textProblem(s: string): string | undefined {
  if (s.includes("\u0000")) return "must not contain U+0000 (NUL)";
  if (loneSurrogate.test(s)) return "must be valid Unicode text (it has an unpaired surrogate)";
  return undefined;
}

const join = (path: string, name: string): string => (path === "" ? name : `${path}.${name}`);

/**
 * The rules are compiled once per message type into checks of only the fields that can break them (strings and
 * enums, and messages that hold some), so a request costs a look at those fields; a field's path is built only
 * for a violation (or to descend into a nested message).
 */
type MessageCheck = (message: Record<string, unknown>, path: string, out: FieldViolation[]) => void;
/** Checks the value of one field of the message at `path` (the field knows its own name). */
type FieldCheck = (value: unknown, path: string, out: FieldViolation[]) => void;
/** Why one string or enum value breaks the rules, or undefined. */
type ValueProblem = (value: unknown) => string | undefined;

/** Compiled checks by message type; `null` for a type with nothing to check. */
const compiled = new Map<DescMessage, MessageCheck | null>();

function messageCheck(desc: DescMessage): MessageCheck | undefined {
  const known = compiled.get(desc);
  if (known !== undefined) return known ?? undefined;
  const checks: MessageCheck[] = [];
  const check: MessageCheck = (message, path, out) => {
    for (const c of checks) c(message, path, out);
  };
  compiled.set(desc, check); // a recursive type refers to itself through this entry
  for (const member of desc.members) {
    const c = member.kind === "oneof" ? oneofCheck(member) : memberCheck(member);
    if (c !== undefined) checks.push(c);
  }
  if (checks.length === 0) compiled.set(desc, null);
  return checks.length === 0 ? undefined : check;
}

function memberCheck(field: DescField): MessageCheck | undefined {
  const c = fieldCheck(field);
  return c && ((message, path, out) => c(message[field.localName], path, out));
}

function oneofCheck(oneof: DescOneof): MessageCheck | undefined {
  const cases = new Map<string, FieldCheck>();
  for (const field of oneof.fields) {
    const c = fieldCheck(field);
    if (c !== undefined) cases.set(field.localName, c);
  }
  if (cases.size === 0) return undefined;
  return (message, path, out) => {
    const selected = message[oneof.localName] as { case?: string; value?: unknown } | undefined;
    const c = selected?.case === undefined ? undefined : cases.get(selected.case);
    c?.(selected?.value, path, out);
  };
}

/** The check of one field, or undefined when no value of it can break a rule. */
function fieldCheck(field: DescField): FieldCheck | undefined {
  const at = (path: string) => join(path, field.name);
  const kind =
    field.fieldKind === "list" ? field.listKind : field.fieldKind === "map" ? field.mapKind : field.fieldKind;
  const nested = kind === "message" ? messageCheck(field.message as DescMessage) : undefined;
  const problem = kind === "message" ? undefined : valueProblem(kind, field);
  if (nested === undefined && problem === undefined && !(field.fieldKind === "map" && stringKeys(field)))
    return undefined;
  /** Checks one value (the field's, or an element's) found at `where()`. */
  const one = (value: unknown, where: () => string, out: FieldViolation[]): void => {
    if (nested !== undefined) {
      if (typeof value === "object" && value !== null) nested(value as Record<string, unknown>, where(), out);
      return;
    }
    const p = problem?.(value);
    if (p !== undefined) out.push({ field: where(), description: p });
  };
  switch (field.fieldKind) {
    case "list":
      return (value, path, out) => {
        if (!Array.isArray(value)) return;
        for (let i = 0; i < value.length; i++) one(value[i], () => `${at(path)}[${i}]`, out);
      };
    case "map": {
      const keys = stringKeys(field);
      return (value, path, out) => {
        if (typeof value !== "object" || value === null) return;
        for (const [key, v] of Object.entries(value)) {
          const where = () => `${at(path)}[${JSON.stringify(key)}]`;
          const keyProblem = keys ? textProblem(key) : undefined;
          if (keyProblem !== undefined) out.push({ field: where(), description: `key ${keyProblem}` });
          one(v, where, out);
        }
      };
    }
    default:
      if (nested !== undefined)
        return (value, path, out) => {
          if (typeof value === "object" && value !== null)
            nested(value as Record<string, unknown>, at(path), out);
        };
      return (value, path, out) => {
        const p = problem?.(value);
        if (p !== undefined) out.push({ field: at(path), description: p });
      };
  }
}

function stringKeys(field: DescField): boolean {
  return field.fieldKind === "map" && field.mapKey === ScalarType.STRING;
}

/** The rule of a string or enum value, or undefined for other scalars (which cannot break one). */
function valueProblem(kind: "scalar" | "enum", field: DescField): ValueProblem | undefined {
  if (kind === "enum") {
    const desc = "enum" in field ? (field.enum as DescEnum | undefined) : undefined;
    if (desc === undefined) return undefined;
    const declared = new Set(desc.values.map((v) => v.number));
    return (value) =>
      typeof value === "number" && !declared.has(value)
        ? `${value} is not a value of ${desc.typeName}`
        : undefined;
  }
  const scalar = "scalar" in field ? (field.scalar as ScalarType | undefined) : undefined;
  if (scalar !== ScalarType.STRING) return undefined;
  return (value) => (typeof value === "string" ? textProblem(value) : undefined);
}

/** Every string Postgres cannot store and every undeclared enum value in `message`, by field path. */
export function requestViolations(desc: DescMessage, message: object): FieldViolation[] {
  const out: FieldViolation[] = [];
  messageCheck(desc)?.(message as Record<string, unknown>, "", out);
  return out;
}

/**
 * Refuses requests that break the rules above (INVALID_ARGUMENT listing every violation). Put it before
 * authentication: like a request that does not decode, it is answered whoever sends it. A request that keeps
 * them is handed on without a layer of its own.
 */
export function requestRulesInterceptor(services: readonly DescService[]): Interceptor {
  const inputs = new Map<string, DescMessage>();
  for (const service of services)
    for (const method of service.methods) inputs.set(method.input.typeName, method.input);
  return (next) => (request, ctx) => {
    const desc = inputs.get((request as Partial<Message>).$typeName ?? "");
    if (desc !== undefined) {
      const violations = requestViolations(desc, request as object);
      if (violations.length > 0) return Promise.reject(AppError.invalid(violations));
    }
    return next(request, ctx);
  };
}

/** INVALID_ARGUMENT for request bytes that are not a message of the method's input type. */
export function undecodableRequest(input: DescMessage, reason: string): AppError {
  const detail = reason.replace(/^parse binary: /, "");
  return AppError.invalid([
    {
      field: "",
      description: `the request is not a valid ${input.typeName}${detail === "" ? "" : `: ${detail}`}`,
    },
  ]);
}

/** INVALID_ARGUMENT for a request message larger than `limit` bytes (the transport's message-size limit). */
export function oversizedRequest(limit: number): AppError {
  return AppError.invalid([
    { field: "", description: `the request must be at most ${limit} bytes (the message-size limit)` },
  ]);
}
