import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { buildEnvelope } from "../commands/build-envelope";
import type { CommandOutcome } from "../contracts";
import { decodeToken, uuidFrom } from "../contracts";
import type { DomainCommand, Versioned } from "../domain";
import { conversationStore } from "../domain/conversation/store";
import { createTestDatabase, type TestDatabase } from "../testing";
import { readCommands } from "../write-model";
import { type CommandExecutor, createCommandExecutor } from "./executor";

let db: TestDatabase;
let execute: CommandExecutor;
const admin = { sub: "ops", role: "admin" } as const;
let n = 0;

beforeAll(async () => {
  db = await createTestDatabase();
  execute = createCommandExecutor({ connect: () => db.pool.connect() });
});
afterAll(() => db.drop());

async function send(command: DomainCommand, commandId = `c-${++n}`, expectedVersion?: number) {
  const { envelope, blob } = buildEnvelope(command, { commandId, expectedVersion, actor: admin });
  if (blob)
    await db.pool.query("INSERT INTO command_blobs (command_id, content) VALUES ($1, $2)", [commandId, blob]);
  const [outcome] = await execute([envelope]);
  return outcome as CommandOutcome;
}

function ok(outcome: CommandOutcome) {
  if (!outcome.ok) throw new Error(`expected success, got ${outcome.error.code}: ${outcome.error.message}`);
  return outcome.result;
}

const id = (name: string) => uuidFrom(`executor-test:${name}`);

/** Starts a conversation of `userId` with no models. */
const startConversation = (conversationId: string, userId: string) =>
  send({ type: "StartConversation", conversationId, userId, voiceModelId: null, faceModelId: null });

describe("command executor (real Postgres)", () => {
  test("creates a user, writes its row, its outbox event and its stored result in one transaction", async () => {
    const r = ok(
      await send(
        { type: "CreateUser", userId: id("u1"), email: "Ada@Example.com", displayName: "Ada" },
        "create-u1",
      ),
    );
    expect(r).toMatchObject({
      aggregateId: id("u1"),
      version: 1,
      events: ["user.created"],
      duplicate: false,
    });
    const row = await db.pool.query("SELECT email, version FROM users WHERE id = $1", [id("u1")]);
    expect(row.rows[0]).toEqual({ email: "Ada@Example.com", version: "1" });
    const ev = await db.pool.query("SELECT type, aggregate_version FROM events WHERE aggregate_id = $1", [
      id("u1"),
    ]);
    expect(ev.rows).toEqual([{ type: "user.created", aggregate_version: "1" }]);
    const stored = await db.pool.query(
      "SELECT payload_hash FROM command_results WHERE command_id = 'create-u1'",
    );
    expect(stored.rowCount).toBe(1);
  });

  test("a replay returns the stored result with duplicate: true and writes nothing", async () => {
    const cmd: DomainCommand = {
      type: "CreateUser",
      userId: id("u2"),
      email: "b@example.com",
      displayName: "B",
    };
    const first = ok(await send(cmd, "create-u2"));
    const again = ok(await send(cmd, "create-u2"));
    expect(again).toEqual({ ...first, duplicate: true });
    const events = await db.pool.query("SELECT count(*)::int AS n FROM events WHERE aggregate_id = $1", [
      id("u2"),
    ]);
    expect(events.rows[0].n).toBe(1);
  });

  test("the same command id with another payload is INVALID_ARGUMENT", async () => {
    const out = await send(
      { type: "CreateUser", userId: id("u2"), email: "other@example.com", displayName: "B" },
      "create-u2",
    );
    expect(out.ok).toBe(false);
    if (!out.ok) expect(out.error.code).toBe("INVALID_ARGUMENT");
  });

  test("an email taken in another case is ALREADY_EXISTS; a reused id is ALREADY_EXISTS", async () => {
    const taken = await send({
      type: "CreateUser",
      userId: id("u3"),
      email: "ADA@example.COM",
      displayName: "X",
    });
    expect(taken.ok ? "ok" : taken.error.code).toBe("ALREADY_EXISTS");
    const reused = await send({
      type: "CreateUser",
      userId: id("u1"),
      email: "new@example.com",
      displayName: "X",
    });
    expect(reused.ok ? "ok" : reused.error.code).toBe("ALREADY_EXISTS");
  });

  test("expected_version mismatch is ABORTED and changes nothing", async () => {
    const out = await send(
      { type: "UpdateUserProfile", userId: id("u1"), displayName: "Ada L." },
      undefined,
      5,
    );
    expect(out.ok ? "ok" : out.error.code).toBe("ABORTED");
    const good = ok(
      await send({ type: "UpdateUserProfile", userId: id("u1"), displayName: "Ada L." }, undefined, 1),
    );
    expect(good.version).toBe(2);
  });

  test("voice model: register, train, activate; the user's active model follows", async () => {
    const vm = id("vm1");
    ok(
      await send({ type: "RegisterVoiceModel", modelId: vm, userId: id("u1"), name: "v", sampleSeconds: 30 }),
    );
    const early = await send({ type: "ActivateVoiceModel", modelId: vm });
    expect(early.ok ? "ok" : early.error.code).toBe("FAILED_PRECONDITION");
    ok(
      await send({
        type: "CompleteVoiceModelTraining",
        modelId: vm,
        succeeded: true,
        qualityScore: 0.9,
        failureReason: "",
      }),
    );
    const act = ok(await send({ type: "ActivateVoiceModel", modelId: vm }));
    expect(act.events).toEqual(["voice_model.activated"]);
    const u = await db.pool.query("SELECT active_voice_model_id FROM users WHERE id = $1", [id("u1")]);
    expect(u.rows[0].active_voice_model_id).toBe(vm);
  });

  test("a batch of commands on different aggregates commits together, each with its own outcome", async () => {
    const cmds: DomainCommand[] = Array.from({ length: 10 }, (_, i) => ({
      type: "CreateUser",
      userId: id(`batch-${i}`),
      email: i === 5 ? "ada@example.com" : `batch-${i}@example.com`,
      displayName: `B${i}`,
    }));
    const outcomes = await execute(
      cmds.map((c, i) => buildEnvelope(c, { commandId: `batch-${i}`, actor: admin }).envelope),
    );
    expect(outcomes.map((o) => (o.ok ? "ok" : o.error.code))).toEqual([
      "ok",
      "ok",
      "ok",
      "ok",
      "ok",
      "ALREADY_EXISTS",
      "ok",
      "ok",
      "ok",
      "ok",
    ]);
    const users = await db.pool.query("SELECT count(*)::int AS n FROM users WHERE display_name ~ '^B[0-9]$'");
    expect(users.rows[0].n).toBe(9);
  });

  test("a lost version check writes nothing: two executors racing on one user keep state, events and results in step", async () => {
    // Two executors stand for two workers that both believe they own the aggregate (a partition handover): each
    // reads the same version, and the second write fails its version check. That write must leave no event
    // and no stored result behind, and the command is retried on the new state.
    const user = id("race-user");
    ok(await send({ type: "CreateUser", userId: user, email: "race@example.com", displayName: "R0" }));
    const other = createCommandExecutor({ connect: () => db.pool.connect() });
    const run = (exec: CommandExecutor, lane: string) =>
      (async () => {
        const outcomes: CommandOutcome[] = [];
        for (let i = 0; i < 15; i++) {
          const command: DomainCommand = {
            type: "UpdateUserProfile",
            userId: user,
            displayName: `${lane}${i}`,
          };
          const { envelope } = buildEnvelope(command, { commandId: `race-${lane}-${i}`, actor: admin });
          outcomes.push(...(await exec([envelope])));
        }
        return outcomes;
      })();
    const outcomes = (await Promise.all([run(execute, "a"), run(other, "b")])).flat();
    const applied = outcomes.filter((o) => o.ok && o.result.events.length > 0).length;
    const state = await db.pool.query("SELECT version::int AS v FROM users WHERE id = $1", [user]);
    const events = await db.pool.query("SELECT count(*)::int AS n FROM events WHERE aggregate_id = $1", [
      user,
    ]);
    const results = await db.pool.query(
      "SELECT count(*)::int AS n FROM command_results WHERE command_id LIKE 'race-%' AND (result->>'ok')::boolean",
    );
    expect(applied).toBe(30);
    expect(state.rows[0].v).toBe(31);
    expect(events.rows[0].n).toBe(31);
    expect(results.rows[0].n).toBe(30);
  });

  test("conversation turns are numbered 1, 2, 3 and an ended conversation takes no turn", async () => {
    const c = id("conv1");
    ok(await startConversation(c, id("u1")));
    for (let i = 0; i < 3; i++) {
      ok(
        await send({
          type: "RecordConversationTurn",
          conversationId: c,
          speaker: i % 2 ? "CLONE" : "USER",
          text: `t${i}`,
          audioMs: 10,
          latencyMs: 5,
        }),
      );
    }
    ok(await send({ type: "EndConversation", conversationId: c }));
    const late = await send({
      type: "RecordConversationTurn",
      conversationId: c,
      speaker: "USER",
      text: "late",
      audioMs: 1,
      latencyMs: 1,
    });
    expect(late.ok ? "ok" : late.error.code).toBe("FAILED_PRECONDITION");
    const turns = await db.pool.query(
      "SELECT sequence FROM turns WHERE conversation_id = $1 ORDER BY sequence",
      [c],
    );
    expect(turns.rows.map((r) => r.sequence)).toEqual([1, 2, 3]);
  });

  test("document upload takes its content from the claim check, then processing writes chunks", async () => {
    const d = id("doc1");
    const content = new TextEncoder().encode("hello world from a document");
    ok(
      await send({
        type: "UploadDocument",
        documentId: d,
        userId: id("u1"),
        title: "t",
        contentType: "text/plain",
        content,
      }),
    );
    const row = await db.pool.query("SELECT size_bytes, status FROM documents WHERE id = $1", [d]);
    expect(row.rows[0]).toEqual({ size_bytes: content.length, status: "UPLOADED" });
    const blobs = await db.pool.query("SELECT count(*)::int AS n FROM command_blobs");
    expect(blobs.rows[0].n).toBe(0);
    ok(
      await send({
        type: "RecordDocumentProcessing",
        documentId: d,
        succeeded: true,
        failureReason: "",
        chunks: ["hello world", "from a document"],
        wordCount: 5,
      }),
    );
    const chunks = await db.pool.query(
      "SELECT chunk_index, word_count FROM document_chunks WHERE document_id = $1 ORDER BY 1",
      [d],
    );
    expect(chunks.rows).toEqual([
      { chunk_index: 0, word_count: 2 },
      { chunk_index: 1, word_count: 3 },
    ]);
  });
});

describe("command executor: a batch in one write statement", () => {
  test("turns on several conversations, a new user, a replay and a reused id: each answered as if alone", async () => {
    const owner = id("batch-owner");
    ok(await send({ type: "CreateUser", userId: owner, email: "owner@example.com", displayName: "O" }));
    const conversations = [0, 1, 2, 3].map((i) => id(`batch-conv-${i}`));
    for (const c of conversations) {
      ok(
        await send({
          type: "StartConversation",
          conversationId: c,
          userId: owner,
          voiceModelId: null,
          faceModelId: null,
        }),
      );
    }
    const turn = (c: string, text: string): DomainCommand => ({
      type: "RecordConversationTurn",
      conversationId: c,
      speaker: "USER",
      text,
      audioMs: 1,
      latencyMs: 1,
    });
    const replayed = buildEnvelope(turn(id("batch-conv-0"), "first"), {
      commandId: "bt-replayed",
      actor: admin,
    });
    ok((await execute([replayed.envelope]))[0] as CommandOutcome);

    const batch = [
      ...conversations
        .slice(1)
        .map((c, i) => buildEnvelope(turn(c, `b${i}`), { commandId: `bt-${i}`, actor: admin })),
      buildEnvelope(
        { type: "CreateUser", userId: id("batch-new"), email: "new@example.com", displayName: "N" },
        { commandId: "bt-user", actor: admin },
      ),
      replayed,
    ].map((b) => b.envelope);
    const outcomes = await execute(batch);
    const reused = await execute([
      buildEnvelope(turn(id("batch-conv-1"), "not b0"), { commandId: "bt-0", actor: admin }).envelope,
    ]);
    expect(
      outcomes.map((o) => (o.ok ? (o.result.duplicate ? "dup" : o.result.version) : o.error.code)),
    ).toEqual([2, 2, 2, 1, "dup"]);
    expect(reused[0]?.ok ? "ok" : reused[0]?.error.code).toBe("INVALID_ARGUMENT");
    // Every new command has its own token, the point of its own last event. (The replay, on a conversation
    // whose state the executor keeps, is caught by the command id's key: the batch then went command by
    // command, so the tokens need not share a transaction.)
    const tokens = outcomes.slice(0, 4).map((o) => decodeToken(ok(o).position));
    expect(new Set(tokens.map((t) => t?.position)).size).toBe(4);
    const turns = await db.pool.query(
      "SELECT text FROM turns WHERE conversation_id = ANY($1::uuid[]) ORDER BY text",
      [conversations],
    );
    expect(turns.rows.map((r) => r.text)).toEqual(["b0", "b1", "b2", "first"]);
    const stored = await db.pool.query(
      "SELECT count(*)::int AS n FROM command_results WHERE command_id LIKE 'bt-%'",
    );
    expect(stored.rows[0].n).toBe(5);
  });

  test("two commands of one batch that both update a user row are both applied (activation + profile, voice + face)", async () => {
    const user = id("activate-batch");
    ok(await send({ type: "CreateUser", userId: user, email: "activate@example.com", displayName: "A" }));
    const trained = async (kind: "Voice" | "Face", name: string) => {
      const modelId = id(name);
      ok(
        await send({
          type: `Register${kind}Model`,
          modelId,
          userId: user,
          name,
          sampleSeconds: 30,
        } as DomainCommand),
      );
      ok(
        await send({
          type: `Complete${kind}ModelTraining`,
          modelId,
          succeeded: true,
          qualityScore: 0.9,
          failureReason: "",
        } as DomainCommand),
      );
      return modelId;
    };
    const voice = await trained("Voice", "batch-vm");
    const face = await trained("Face", "batch-fm");
    const envelopes = (commands: DomainCommand[], tag: string) =>
      commands.map((c, i) => buildEnvelope(c, { commandId: `${tag}-${i}`, actor: admin }).envelope);

    // In one statement Postgres would apply only one of two updates of the same row, silently.
    const first = await execute(
      envelopes(
        [
          { type: "ActivateVoiceModel", modelId: voice },
          { type: "UpdateUserProfile", userId: user, displayName: "B" },
        ],
        "activate-profile",
      ),
    );
    expect(first.map((o) => o.ok)).toEqual([true, true]);
    const userRow = async () =>
      (
        await db.pool.query(
          "SELECT active_voice_model_id, active_face_model_id, display_name FROM users WHERE id = $1",
          [user],
        )
      ).rows[0];
    expect(await userRow()).toMatchObject({ active_voice_model_id: voice, display_name: "B" });

    const second = await execute(
      envelopes(
        [
          { type: "ActivateFaceModel", modelId: face },
          { type: "UpdateUserProfile", userId: user, displayName: "C" },
        ],
        "activate-face",
      ),
    );
    expect(second.map((o) => o.ok)).toEqual([true, true]);
    expect(await userRow()).toEqual({
      active_voice_model_id: voice,
      active_face_model_id: face,
      display_name: "C",
    });

    const voice2 = await trained("Voice", "batch-vm2");
    const face2 = await trained("Face", "batch-fm2");
    const third = await execute(
      envelopes(
        [
          { type: "ActivateVoiceModel", modelId: voice2 },
          { type: "ActivateFaceModel", modelId: face2 },
        ],
        "activate-both",
      ),
    );
    expect(third.map((o) => o.ok)).toEqual([true, true]);
    expect(await userRow()).toEqual({
      active_voice_model_id: voice2,
      active_face_model_id: face2,
      display_name: "C",
    });
  });

  test("a version check that matched no row fails the whole statement, so nothing of it is written", async () => {
    const user = id("expect-one");
    ok(await send({ type: "CreateUser", userId: user, email: "expect@example.com", displayName: "E" }));
    const attempt = db.pool.query(
      `WITH state AS (UPDATE users SET display_name = 'stale' WHERE id = $1 AND version = 99 RETURNING 1),
            ev AS (INSERT INTO events (aggregate_type, aggregate_id, aggregate_version, type, payload, metadata)
                   VALUES ('user', $1, 100, 'user.profile_updated', '{}', '{}') RETURNING 1)
       SELECT write_expect_one((SELECT count(*) FROM state)), (SELECT count(*) FROM ev)`,
      [user],
    );
    await expect(attempt).rejects.toMatchObject({ code: "40001" });
    const events = await db.pool.query("SELECT count(*)::int AS n FROM events WHERE aggregate_id = $1", [
      user,
    ]);
    expect(events.rows[0].n).toBe(1);
  });
});

describe("command executor: conversations it keeps in memory", () => {
  const turn = (conversationId: string, text: string): DomainCommand => ({
    type: "RecordConversationTurn",
    conversationId,
    speaker: "USER",
    text,
    audioMs: 3,
    latencyMs: 2,
  });

  async function freshState(conversationId: string) {
    const [read] = await readCommands(db.pool, [
      { aggregateType: "conversation", aggregateId: conversationId, commandId: "none" },
    ]);
    return conversationStore.fromRow(read?.row ?? {});
  }

  test("the state kept after each command is the state a read gives, and the next command uses it", async () => {
    const kept = new Map<string, Versioned>();
    const exec = createCommandExecutor({ connect: () => db.pool.connect(), stateCache: kept });
    const owner = id("kept-owner");
    ok(await send({ type: "CreateUser", userId: owner, email: "kept@example.com", displayName: "K" }));
    const c = id("kept-conv");
    const run = async (command: DomainCommand, commandId: string) =>
      (await exec([buildEnvelope(command, { commandId, actor: admin }).envelope]))[0] as CommandOutcome;
    ok(
      await run(
        {
          type: "StartConversation",
          conversationId: c,
          userId: owner,
          voiceModelId: null,
          faceModelId: null,
        },
        "kept-start",
      ),
    );
    expect(kept.get(c)).toEqual(await freshState(c));
    for (let i = 0; i < 5; i++) {
      expect(ok(await run(turn(c, `k${i}`), `kept-turn-${i}`)).version).toBe(i + 2);
      expect(kept.get(c)).toEqual(await freshState(c));
    }
    ok(await run({ type: "EndConversation", conversationId: c }, "kept-end"));
    expect(kept.get(c)).toEqual(await freshState(c));
    const late = await run(turn(c, "late"), "kept-late");
    expect(late.ok ? "ok" : late.error.code).toBe("FAILED_PRECONDITION");

    // A replay of an applied command on the kept conversation: the stored answer, no second effect.
    const replay = ok(await run(turn(c, "k4"), "kept-turn-4"));
    expect(replay).toMatchObject({ duplicate: true, version: 6 });
    const turns = await db.pool.query("SELECT count(*)::int AS n FROM turns WHERE conversation_id = $1", [c]);
    expect(turns.rows[0].n).toBe(5);
    expect(kept.get(c)).toBeUndefined(); // forgotten after the failed attempt; read again next time
  });

  test("a kept state that changed elsewhere fails the version check; the command is applied on a fresh read", async () => {
    const kept = new Map<string, Versioned>();
    const exec = createCommandExecutor({ connect: () => db.pool.connect(), stateCache: kept });
    const c = id("kept-conv-2");
    ok(await startConversation(c, id("kept-owner")));
    ok((await exec([buildEnvelope(turn(c, "a"), { commandId: "kept2-a", actor: admin }).envelope]))[0]!);
    // Another worker (the shared executor here) records a turn the kept state does not know of.
    ok(await send(turn(c, "b"), "kept2-b"));
    const third = ok(
      (await exec([buildEnvelope(turn(c, "c"), { commandId: "kept2-c", actor: admin }).envelope]))[0]!,
    );
    expect(third.version).toBe(4);
    const seqs = await db.pool.query(
      "SELECT sequence, text FROM turns WHERE conversation_id = $1 ORDER BY sequence",
      [c],
    );
    expect(seqs.rows).toEqual([
      { sequence: 1, text: "a" },
      { sequence: 2, text: "b" },
      { sequence: 3, text: "c" },
    ]);
    expect(kept.get(c)).toEqual(await freshState(c));

    // A refusal decided on a stale kept state is not stored: the expected version is checked on a fresh read.
    ok(await send(turn(c, "d"), "kept2-d")); // elsewhere again: now at 5, the kept state says 4
    const expected = await exec([
      buildEnvelope(turn(c, "e"), { commandId: "kept2-e", actor: admin, expectedVersion: 5 }).envelope,
    ]);
    expect(ok(expected[0] as CommandOutcome).version).toBe(6);
  });
});

describe("command executor: expired commands", () => {
  test("a command whose deadline passed before it ran is skipped (nothing stored); a retry with the same id is applied once", async () => {
    const cmd: DomainCommand = {
      type: "CreateUser",
      userId: id("late"),
      email: "late@example.com",
      displayName: "L",
    };
    const attempt = (deadline: number) =>
      buildEnvelope(cmd, { commandId: "expired-1", actor: admin, deadline }).envelope;
    const [first] = await execute([attempt(Date.now() - 1)]);
    expect(first?.ok ? "OK" : first?.error.code).toBe("DEADLINE_EXCEEDED");
    const count = async (sql: string) => (await db.pool.query(sql, [id("late")])).rows[0].n as number;
    expect(await count("SELECT count(*)::int AS n FROM users WHERE id = $1")).toBe(0);
    expect(await count("SELECT count(*)::int AS n FROM command_results WHERE aggregate_id = $1")).toBe(0);
    const [again] = await execute([attempt(Date.now() + 5_000)]);
    expect(again?.ok && again.result.duplicate).toBe(false);
    // A later attempt, even one whose deadline passed, is answered from the stored result.
    const [late] = await execute([attempt(Date.now() - 1)]);
    expect(late?.ok && late.result.duplicate).toBe(true);
    expect(await count("SELECT count(*)::int AS n FROM events WHERE aggregate_id = $1")).toBe(1);
  });
});
