/**
 * The closed-loop operations of the query latency matrix (items 1 and 2 of queries.bench.ts):
 *
 * - cached: GetUserProfile through the gateway on a small hot set of users whose answers are in the cache;
 *   an answer with `meta.from_cache = false` fails the operation (counted apart, not timed);
 * - uncached: GetUserProfile with `bypass_cache = true` on a random user (a primary-key read of
 *   user_profile_view behind the gateway's auth, validation and authorization); an answer not from the views
 *   (`meta.source`) fails the operation;
 * - strong: the same read with `consistency = READ_CONSISTENCY_STRONG` (user_profile_view_source evaluated
 *   over the write model for the user); an answer not from the write model fails the operation;
 * - echo: the bare grpc-js echo of echo-server.ts (no auth, no cache, no database), a same-sized request;
 * - pk-select: the gateway's own SELECT of GetUserProfile on a bare `pg.Pool`, random user.
 *
 * Every call carries the user's own token (a `user` reads only its own profile), minted before measuring.
 */
import pg from "pg";
import { type GrpcCallOptions, type GrpcClient, mintToken } from "../src/gateway";
import type { CommandService } from "../src/gen/clone/v1/command_service_pb";
import { AnswerSource, ReadConsistency, Speaker } from "../src/gen/clone/v1/enums_pb";
import type { QueryService } from "../src/gen/clone/v1/query_service_pb";
import type { Operation } from "./load";

const DEADLINE_MS = 30_000;
const MINT_LANES = 64;

/** The SELECT of GetUserProfile (src/queries/definitions/users.ts), for the bare baseline. */
export const PROFILE_SQL = `SELECT user_id, email, display_name, active_voice_model_id, active_voice_model_name, active_face_model_id,
                active_face_model_name, created_at, updated_at, version
           FROM user_profile_view WHERE user_id = $1`;

/** `user` tokens by user id. */
export interface TokenBook {
  /** The token of a user minted before (throws otherwise: minting is not part of a measured operation). */
  get(userId: string): string;
  /** Mints (once) and returns a user's token. */
  tokenOf(userId: string): Promise<string>;
  /** Mints the tokens of all these users. */
  mintAll(userIds: readonly string[]): Promise<void>;
}

/** Creates an empty token book signing with `secret`. */
export function createTokenBook(secret: string): TokenBook {
  const tokens = new Map<string, string>();
  const tokenOf = async (userId: string) => {
    let t = tokens.get(userId);
    if (t === undefined) {
      t = await mintToken({ sub: userId, role: "user", secret, expiresIn: "2h" });
      tokens.set(userId, t);
    }
    return t;
  };
  return {
    get(userId) {
      const t = tokens.get(userId);
      if (t === undefined) throw new Error(`no token minted for ${userId}`);
      return t;
    },
    tokenOf,
    async mintAll(userIds) {
      let next = 0;
      const lane = async () => {
        while (next < userIds.length) await tokenOf(userIds[next++] as string);
      };
      await Promise.all(Array.from({ length: MINT_LANES }, lane));
    },
  };
}

/** Call options with a user's token and a deadline, so a stuck call fails instead of hanging the run. */
export function asUser(tokens: TokenBook, userId: string): GrpcCallOptions {
  return { token: tokens.get(userId), deadline: Date.now() + DEADLINE_MS };
}

/** An answer that should have come from the cache and did not. */
export class NotFromCacheError extends Error {
  constructor() {
    super("answer not from the cache");
  }
}

const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)] as T;

/** Reads every hot user's profile once, so that the cached workload finds them in the cache. */
export async function warmProfiles(
  client: GrpcClient<typeof QueryService>,
  hot: readonly string[],
  tokens: TokenBook,
): Promise<void> {
  await Promise.all(hot.map((userId) => client.call("getUserProfile", { userId }, asUser(tokens, userId))));
}

/** One bypass_cache read per user, 16 at a time: the gateway has verified (and remembers) their tokens after. */
export async function verifyTokens(
  client: GrpcClient<typeof QueryService>,
  users: readonly string[],
  tokens: TokenBook,
): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < users.length) {
      const userId = users[next++] as string;
      await client.call("getUserProfile", { userId, options: { bypassCache: true } }, asUser(tokens, userId));
    }
  };
  await Promise.all(Array.from({ length: 16 }, lane));
}

/** GetUserProfile on a hot user; fails unless the answer came from the cache. */
export function cachedProfileOp(
  client: GrpcClient<typeof QueryService>,
  hot: readonly string[],
  tokens: TokenBook,
): Operation {
  return async () => {
    const userId = pick(hot);
    const r = await client.call("getUserProfile", { userId }, asUser(tokens, userId));
    if (r.meta?.fromCache !== true) throw new NotFromCacheError();
  };
}

/** GetUserProfile with bypass_cache on a random user; fails unless the views answered. */
export function uncachedProfileOp(
  client: GrpcClient<typeof QueryService>,
  users: readonly string[],
  tokens: TokenBook,
): Operation {
  return profileReadOp(client, users, tokens, { bypassCache: true }, AnswerSource.VIEW);
}

/** GetUserProfile with consistency STRONG on a random user; fails unless the write model answered. */
export function strongProfileOp(
  client: GrpcClient<typeof QueryService>,
  users: readonly string[],
  tokens: TokenBook,
): Operation {
  return profileReadOp(
    client,
    users,
    tokens,
    { consistency: ReadConsistency.STRONG },
    AnswerSource.WRITE_MODEL,
  );
}

function profileReadOp(
  client: GrpcClient<typeof QueryService>,
  users: readonly string[],
  tokens: TokenBook,
  options: { bypassCache?: boolean; consistency?: ReadConsistency },
  source: AnswerSource,
): Operation {
  return async () => {
    const userId = pick(users);
    const r = await client.call("getUserProfile", { userId, options }, asUser(tokens, userId));
    if (r.meta?.source !== source) {
      throw new Error(
        `answered from ${AnswerSource[r.meta?.source ?? AnswerSource.UNSPECIFIED]}, not ${AnswerSource[source]}`,
      );
    }
  };
}

/** The bare grpc-js echo (echo-server.ts answers RecordConversationTurn at once), with a token as the others. */
export function echoOp(
  echo: GrpcClient<typeof CommandService>,
  users: readonly string[],
  tokens: TokenBook,
): Operation {
  return async () => {
    const userId = pick(users);
    await echo.call(
      "recordConversationTurn",
      { conversationId: userId, speaker: Speaker.USER, text: "profile" },
      asUser(tokens, userId),
    );
  };
}

/** A bare pool and the primary-key SELECT on it. */
export interface PkSelectWorkload {
  readonly op: Operation;
  readonly poolSize: number;
  close(): Promise<void>;
}

/** Opens a pool of `size` connections (all of them before measuring) for the primary-key SELECT. */
export async function preparePkSelect(
  databaseUrl: string,
  size: number,
  users: readonly string[],
): Promise<PkSelectWorkload> {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: size, application_name: "bench-pk-select" });
  // A connection ended under it (the database dropped at Ctrl-C) fails its query; it must not also throw.
  pool.on("error", () => {});
  pool.on("connect", (client) => client.on("error", () => {}));
  const attempts = await Promise.allSettled(Array.from({ length: size }, () => pool.connect()));
  for (const a of attempts) if (a.status === "fulfilled") a.value.release();
  const failure = attempts.find((a) => a.status === "rejected");
  if (failure) {
    await pool.end();
    throw failure.reason;
  }
  return {
    poolSize: size,
    op: async () => {
      const res = await pool.query(PROFILE_SQL, [pick(users)]);
      if (res.rows.length !== 1) throw new Error("user not found");
    },
    close: () => pool.end(),
  };
}
