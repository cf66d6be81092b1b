/**
 * The poisoned-documents scenario of the acceptance tests (real tier and embedded): five documents that used to
 * stall processing wait while another user's ordinary documents are uploaded one after the other; each
 * ordinary one must be PROCESSED quickly, and every poisoned one must end (FAILED with a reason, or processed)
 * instead of being retried for ever. Status is read through the API (ListDocuments, bypassing the cache).
 */
import { expect } from "bun:test";
import { createGrpcClient, mintToken } from "../gateway";
import { CommandService } from "../gen/clone/v1/command_service_pb";
import { DocumentStatus } from "../gen/clone/v1/enums_pb";
import { QueryService } from "../gen/clone/v1/query_service_pb";

const enc = (s: string) => new TextEncoder().encode(s);

/** Exactly 2 MiB (the API's limit) of plain words. */
export function twoMiBText(): Uint8Array {
  const words = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu ";
  const size = 2 * 1024 * 1024;
  return enc(words.repeat(Math.ceil(size / words.length)).slice(0, size));
}

/** The five poisoned documents: name, content type, content. */
export const poisonedDocuments: ReadonlyArray<readonly [string, string, Uint8Array]> = [
  ["U+0000 in text/plain", "text/plain", enc("before\u0000after")],
  ["2 MiB of text", "text/plain", twoMiBText()],
  ["invalid JSON", "application/json", enc('{"a": [1, 2')],
  ["invalid UTF-8", "text/plain", new Uint8Array([0x68, 0x69, 0xc3, 0x28, 0xff])],
  ["U+0000 escaped in JSON", "application/json", enc('{"note": "nul \\u0000 inside"}')],
];

/** What the scenario measured. */
export interface PoisonScenarioResult {
  /** Upload to PROCESSED of each ordinary document, ms, sorted. */
  readonly ordinaryMs: readonly number[];
  /** Each poisoned document's final state, by name. */
  readonly poisoned: Readonly<Record<string, { status: string; reason: string; ms: number }>>;
}

/** Runs the scenario against a gateway at `grpcAddress`. */
export async function runPoisonScenario(options: {
  readonly grpcAddress: string;
  readonly secret: string;
  readonly ordinaryCount?: number;
}): Promise<PoisonScenarioResult> {
  const commands = createGrpcClient(CommandService, options.grpcAddress);
  const queries = createGrpcClient(QueryService, options.grpcAddress);
  try {
    const poisoner = crypto.randomUUID();
    const other = crypto.randomUUID();
    const poisonerToken = await mintToken({ sub: poisoner, role: "user", secret: options.secret });
    const otherToken = await mintToken({ sub: other, role: "user", secret: options.secret });
    for (const [userId, token] of [
      [poisoner, poisonerToken],
      [other, otherToken],
    ] as const) {
      await commands.call(
        "createUser",
        { userId, email: `${userId}@example.com`, displayName: "P" },
        { token },
      );
    }
    const statusOf = async (userId: string, token: string) => {
      const r = await queries.call(
        "listDocuments",
        { userId, pageSize: 50, options: { bypassCache: true } },
        { token },
      );
      return new Map(r.documents.map((d) => [d.documentId, d]));
    };
    const started = performance.now();
    const poisonIds = new Map<string, string>();
    for (const [name, contentType, content] of poisonedDocuments) {
      const r = await commands.call(
        "uploadDocument",
        { userId: poisoner, title: name, contentType, content },
        { token: poisonerToken },
      );
      poisonIds.set(name, r.result?.aggregateId ?? "");
    }
    const ordinaryMs: number[] = [];
    for (let i = 0; i < (options.ordinaryCount ?? 10); i++) {
      const uploaded = performance.now();
      const r = await commands.call(
        "uploadDocument",
        {
          userId: other,
          title: `note ${i}`,
          contentType: "text/plain",
          content: enc(`an ordinary note ${i}`),
        },
        { token: otherToken },
      );
      const id = r.result?.aggregateId ?? "";
      for (;;) {
        const doc = (await statusOf(other, otherToken)).get(id);
        if (doc?.status === DocumentStatus.PROCESSED) break;
        if (performance.now() - uploaded > 30_000)
          throw new Error(`ordinary document ${i} was not processed`);
        await Bun.sleep(10);
      }
      ordinaryMs.push(performance.now() - uploaded);
    }
    const poisoned: Record<string, { status: string; reason: string; ms: number }> = {};
    while (Object.keys(poisoned).length < poisonIds.size && performance.now() - started < 60_000) {
      const docs = await statusOf(poisoner, poisonerToken);
      for (const [name, id] of poisonIds) {
        const doc = docs.get(id);
        if (poisoned[name] || doc === undefined || doc.status === DocumentStatus.UPLOADED) continue;
        poisoned[name] = {
          status: DocumentStatus[doc.status],
          reason: doc.failureReason,
          ms: Math.round(performance.now() - started),
        };
      }
      await Bun.sleep(50);
    }
    for (const name of poisonIds.keys()) poisoned[name] ??= { status: "UPLOADED", reason: "", ms: -1 };
    return { ordinaryMs: ordinaryMs.sort((a, b) => a - b), poisoned };
  } finally {
    commands.close();
    queries.close();
  }
}

/** CPU seconds (user + system) a process has used so far, from /proc (Linux). */
export async function cpuSecondsOf(pid: number): Promise<number> {
  const stat = await Bun.file(`/proc/${pid}/stat`).text();
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** The scenario's expectations: ordinary documents within 2 s, the 2 MiB one processed, the others FAILED with why. */
export function expectPoisonOutcome(result: PoisonScenarioResult, tier: string): void {
  console.log(`${tier}: ordinary documents ${JSON.stringify(result.ordinaryMs.map(Math.round))} ms`);
  console.log(`${tier}: poisoned ${JSON.stringify(result.poisoned)}`);
  expect(result.ordinaryMs.at(-1) as number).toBeLessThan(2_000);
  expect(result.poisoned["2 MiB of text"]).toMatchObject({ status: "PROCESSED" });
  for (const name of ["U+0000 in text/plain", "U+0000 escaped in JSON"]) {
    expect(result.poisoned[name]).toMatchObject({
      status: "FAILED",
      reason: expect.stringContaining("U+0000"),
    });
  }
  expect(result.poisoned["invalid JSON"]).toMatchObject({
    status: "FAILED",
    reason: expect.stringContaining("JSON"),
  });
  expect(result.poisoned["invalid UTF-8"]).toMatchObject({ status: "FAILED", reason: "invalid UTF-8" });
}
