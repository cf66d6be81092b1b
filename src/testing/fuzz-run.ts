/**
 * The fuzz oracle and runner: whether an answer is one API.md allows for its input (never UNKNOWN, INTERNAL,
 * an HTTP 5xx or a transport failure; INVALID_ARGUMENT for text and enums the input itself makes invalid...),
 * and the answers of many cases counted by wire and status.
 */
import type { CodeName } from "../errors";
import type { Caller, FuzzCase } from "./fuzz-requests";
import { type RawAnswer, type RawRpc, type Wire, wires } from "./raw-rpc";

/** What no input may cause. */
const forbidden: ReadonlySet<CodeName> = new Set(["UNKNOWN", "INTERNAL", "UNAVAILABLE", "DATA_LOSS"]);

/** Why `answer` is not one API.md allows for `fuzz`, or undefined when it is. */
export function answerProblem(fuzz: FuzzCase, answer: RawAnswer): string | undefined {
  if (forbidden.has(answer.code)) return `${answer.code}: ${answer.message}`;
  if (answer.httpStatus !== undefined && answer.httpStatus >= 500) return `HTTP ${answer.httpStatus}`;
  if (fuzz.wire === "grpc-web" && answer.httpStatus !== 200)
    return `gRPC-web answered HTTP ${answer.httpStatus}`;
  const mustBeInvalid =
    fuzz.kind === "message" &&
    (fuzz.marks.nul || fuzz.marks.undeclaredEnum || (fuzz.marks.surrogate && fuzz.wire === "connect-json"));
  if (mustBeInvalid && answer.code !== "INVALID_ARGUMENT") return `${answer.code} for bad text or enum`;
  if (answer.code === "INVALID_ARGUMENT" && answer.message === "")
    return "INVALID_ARGUMENT without a message";
  // Connect streams always answer HTTP 200 and end with the status; a unary error is an HTTP status.
  const connectUnary = fuzz.wire.startsWith("connect") && fuzz.method.methodKind === "unary";
  if (answer.code === "INVALID_ARGUMENT" && connectUnary && answer.httpStatus !== 400) {
    return `Connect INVALID_ARGUMENT with HTTP ${answer.httpStatus}`;
  }
  const anonymous = fuzz.caller === "none" || fuzz.caller === "garbage";
  if (anonymous && answer.code !== "INVALID_ARGUMENT" && answer.code !== "UNAUTHENTICATED") {
    return `${answer.code} without a valid token`;
  }
  // DEADLINE_EXCEEDED only for a stream left open (a watch on a live conversation).
  if (answer.code === "DEADLINE_EXCEEDED" && fuzz.method.methodKind === "unary") return "DEADLINE_EXCEEDED";
  if (
    answer.code === "RESOURCE_EXHAUSTED" ||
    answer.code === "UNIMPLEMENTED" ||
    answer.code === "CANCELLED"
  ) {
    return `${answer.code}: ${answer.message}`;
  }
  return undefined;
}

/** Tokens of each caller. */
export type CallerTokens = Readonly<Record<Caller, string | undefined>>;

/** Counts of answers by wire and status. */
export type FuzzCounts = Record<Wire, Record<string, number>>;

/** Sends the cases, `concurrency` at a time; returns the counts and every problem found. */
export async function runFuzzCases(
  rpc: RawRpc,
  cases: readonly FuzzCase[],
  tokens: CallerTokens,
  concurrency: number,
): Promise<{ counts: FuzzCounts; problems: string[] }> {
  const counts = Object.fromEntries(wires.map((w) => [w, {}])) as FuzzCounts;
  const problems: string[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < cases.length) {
      const fuzz = cases[next++] as FuzzCase;
      const token = tokens[fuzz.caller];
      let answer: RawAnswer;
      try {
        answer = await rpc.call(fuzz.wire, fuzz.method, fuzz.body, {
          ...(token === undefined ? {} : { token }),
          timeoutMs: 5_000,
          framed: fuzz.kind === "random frames",
        });
      } catch (error) {
        answer = {
          code: "UNKNOWN",
          message: `transport failure: ${String(error)}`,
          violations: [],
          messages: 0,
        };
      }
      const key =
        answer.httpStatus === undefined ? answer.code : `${answer.code} (HTTP ${answer.httpStatus})`;
      counts[fuzz.wire][key] = (counts[fuzz.wire][key] ?? 0) + 1;
      const problem = answerProblem(fuzz, answer);
      if (problem !== undefined) {
        problems.push(`${fuzz.wire} ${fuzz.method.name} (${fuzz.kind}, caller ${fuzz.caller}): ${problem}`);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { counts, problems };
}

/** Resident set size of a process, in bytes (Linux). */
export async function rssOf(pid: number): Promise<number> {
  const status = await Bun.file(`/proc/${pid}/status`).text();
  const kb = /VmRSS:\s+(\d+)\s+kB/.exec(status)?.[1];
  if (kb === undefined) throw new Error(`no VmRSS for process ${pid}`);
  return Number(kb) * 1024;
}
