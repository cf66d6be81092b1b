import { describe, expect, test } from "bun:test";
import type { Actor } from "../contracts";
import type { DomainCommand } from "../domain";
import { AppError } from "../errors";
import type { OwnerLookup } from "../write-model";
import { authorizeCommand } from "./authorize";

const ada: Actor = { sub: "ada", role: "user" };
const conversationId = "8d7e6f10-2b91-4644-a6c6-5bdc35648a85";
const turn: DomainCommand = {
  type: "RecordConversationTurn",
  conversationId,
  speaker: "USER",
  text: "hi",
  audioMs: 1,
  latencyMs: 1,
};

/** An owner lookup over a fixed table that counts its reads; `cached` ids are known without one. */
function lookup(owners: Record<string, string>, cached: readonly string[] = []) {
  let reads = 0;
  const read = async (_type: string, id: string) => {
    reads++;
    return owners[id];
  };
  const ownerOf: OwnerLookup = Object.assign(read, {
    known: (_type: string, id: string) => (cached.includes(id) ? owners[id] : undefined),
  });
  return { ownerOf, reads: () => reads };
}

function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe("authorizeCommand", () => {
  test("an owner already known is checked at once, without a read or a promise", () => {
    const owners = lookup({ [conversationId]: "ada" }, [conversationId]);
    expect(authorizeCommand(ada, turn, owners.ownerOf)).toBeUndefined();
    const error = thrown(() => authorizeCommand({ sub: "bob", role: "user" }, turn, owners.ownerOf));
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).code).toBe("PERMISSION_DENIED");
    expect(owners.reads()).toBe(0);
  });

  test("an owner not known yet is read: the promise settles with the same answers", async () => {
    const owners = lookup({ [conversationId]: "ada" });
    await authorizeCommand(ada, turn, owners.ownerOf);
    const denied = authorizeCommand({ sub: "bob", role: "user" }, turn, owners.ownerOf);
    expect(denied).toBeInstanceOf(Promise);
    await expect(denied as Promise<void>).rejects.toMatchObject({ code: "PERMISSION_DENIED" });
    const missing = lookup({});
    await expect(authorizeCommand(ada, turn, missing.ownerOf) as Promise<void>).rejects.toMatchObject({
      code: "NOT_FOUND",
      message: `conversation ${conversationId} not found`,
    });
    expect(owners.reads()).toBe(2);
  });

  test("services, admins and creating commands need no owner; privileged commands are refused to users", () => {
    const owners = lookup({});
    expect(authorizeCommand({ sub: "svc", role: "service" }, turn, owners.ownerOf)).toBeUndefined();
    expect(authorizeCommand({ sub: "ops", role: "admin" }, turn, owners.ownerOf)).toBeUndefined();
    const create: DomainCommand = { type: "CreateUser", userId: "ada", email: "a@b.c", displayName: "A" };
    expect(authorizeCommand(ada, create, owners.ownerOf)).toBeUndefined();
    expect(
      (thrown(() => authorizeCommand({ sub: "bob", role: "user" }, create, owners.ownerOf)) as AppError).code,
    ).toBe("PERMISSION_DENIED");
    const training = {
      type: "CompleteVoiceModelTraining",
      voiceModelId: conversationId,
      succeeded: true,
    } as unknown as DomainCommand;
    expect((thrown(() => authorizeCommand(ada, training, owners.ownerOf)) as AppError).code).toBe(
      "PERMISSION_DENIED",
    );
    expect(owners.reads()).toBe(0);
  });
});
