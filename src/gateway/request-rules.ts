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
import type { DescEnum, DescField, DescMessage, DescService, Message } from "@bufbuild/protobuf";
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

function enumProblem(desc: DescEnum, value: unknown): string | undefined {
  if (typeof value !== "number") return undefined;
  return desc.values.some((v) => v.number === value)
    ? undefined
    : `${value} is not a value of ${desc.typeName}`;
}

function checkValue(
  kind: "scalar" | "enum" | "message",
  field: DescField,
  value: unknown,
  path: string,
  out: FieldViolation[],
): void {
  if (kind === "message") {
    const message = fieldMessage(field);
    if (message !== undefined && typeof value === "object" && value !== null) {
      collect(message, value as Record<string, unknown>, path, out);
    }
    return;
  }
  const enumDesc = fieldEnum(field);
  const problem =
    kind === "enum"
      ? enumDesc && enumProblem(enumDesc, value)
      : fieldScalar(field) === ScalarType.STRING && typeof value === "string"
        ? textProblem(value)
        : undefined;
  if (problem !== undefined) out.push({ field: path, description: problem });
}

function fieldMessage(field: DescField): DescMessage | undefined {
  return "message" in field ? (field.message as DescMessage | undefined) : undefined;
}

function fieldEnum(field: DescField): DescEnum | undefined {
  return "enum" in field ? (field.enum as DescEnum | undefined) : undefined;
}

function fieldScalar(field: DescField): ScalarType | undefined {
  return "scalar" in field ? (field.scalar as ScalarType | undefined) : undefined;
}

function checkField(field: DescField, value: unknown, path: string, out: FieldViolation[]): void {
  switch (field.fieldKind) {
    case "scalar":
    case "enum":
    case "message":
      checkValue(field.fieldKind, field, value, path, out);
      return;
    case "list":
      if (Array.isArray(value)) {
        value.forEach((item, i) => {
          checkValue(field.listKind, field, item, `${path}[${i}]`, out);
        });
      }
      return;
    case "map":
      if (typeof value === "object" && value !== null) {
        for (const [key, item] of Object.entries(value)) {
          const at = `${path}[${JSON.stringify(key)}]`;
          const keyProblem = field.mapKey === ScalarType.STRING ? textProblem(key) : undefined;
          if (keyProblem !== undefined) out.push({ field: at, description: `key ${keyProblem}` });
          checkValue(field.mapKind, field, item, at, out);
        }
      }
      return;
  }
}

function collect(
  desc: DescMessage,
  message: Record<string, unknown>,
  path: string,
  out: FieldViolation[],
): void {
  for (const member of desc.members) {
    if (member.kind === "oneof") {
      const selected = message[member.localName] as { case?: string; value?: unknown } | undefined;
      const field = member.fields.find((f) => f.localName === selected?.case);
      if (field !== undefined) checkField(field, selected?.value, join(path, field.name), out);
    } else {
      checkField(member, message[member.localName], join(path, member.name), out);
    }
  }
}

/** Every string Postgres cannot store and every undeclared enum value in `message`, by field path. */
export function requestViolations(desc: DescMessage, message: object): FieldViolation[] {
  const out: FieldViolation[] = [];
  collect(desc, message as Record<string, unknown>, "", out);
  return out;
}

/**
 * Refuses requests that break the rules above (INVALID_ARGUMENT listing every violation). Put it before
 * authentication: like a request that does not decode, it is answered whoever sends it.
 */
export function requestRulesInterceptor(services: readonly DescService[]): Interceptor {
  const inputs = new Map<string, DescMessage>();
  for (const service of services)
    for (const method of service.methods) inputs.set(method.input.typeName, method.input);
  return (next) => async (request, ctx) => {
    const desc = inputs.get((request as Partial<Message>).$typeName ?? "");
    if (desc !== undefined) {
      const violations = requestViolations(desc, request as object);
      if (violations.length > 0) throw AppError.invalid(violations);
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
