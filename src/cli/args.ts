/**
 * The admin CLI's command line: `bun run cli <command> [arguments] [options]`, parsed with node:util
 * `parseArgs` (strict: an unknown option is an error, not ignored). Pure, so it is unit-tested.
 */
import { parseArgs } from "node:util";
import type { Role } from "../contracts";

/** Who a gRPC call is made as: a given token, or one minted here with AUTH_JWT_SECRET. */
export type CallAuth =
  | { readonly kind: "token"; readonly token: string }
  | { readonly kind: "mint"; readonly sub: string; readonly role: Role };

/** A parsed command line. */
export type CliCommand =
  | { readonly kind: "help"; readonly topic?: string }
  | { readonly kind: "token"; readonly sub: string; readonly role: Role; readonly ttl: string | number }
  | {
      readonly kind: "rpc";
      readonly service: "command" | "query";
      /** As typed: `CreateUser` or `createUser`. */
      readonly rpc: string;
      /** The request in protobuf JSON form; `-` reads it from stdin. */
      readonly json: string;
      readonly auth: CallAuth;
      /** `host:port`; default 127.0.0.1 and the configured GRPC_PORT. */
      readonly addr: string | undefined;
      /** Deadline of the call; default 30 s for unary calls, none for streams. */
      readonly timeoutMs: number | undefined;
    }
  | {
      readonly kind: "history";
      readonly aggregateType: HistoryAggregateType;
      readonly aggregateId: string;
      readonly auth: CallAuth;
      readonly addr: string | undefined;
      readonly timeoutMs: number | undefined;
      readonly json: boolean;
    }
  | { readonly kind: "lag"; readonly json: boolean }
  | {
      readonly kind: "dead-letters";
      readonly action: "list" | "show" | "retry" | "discard";
      /** The dead letter (show, retry, discard). */
      readonly id: string | undefined;
      /** list: only this source. */
      readonly source: string | undefined;
      readonly json: boolean;
      /** discard: do not ask for confirmation. */
      readonly yes: boolean;
      /** retry: how long to wait for its outcome, ms. */
      readonly waitMs: number;
    }
  | { readonly kind: "rebuild"; readonly json: boolean }
  | { readonly kind: "views"; readonly action: "status" | "build"; readonly view: string | undefined };

/** A command line that cannot be run; the message says why. Exit code 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

const roles: readonly Role[] = ["user", "service", "admin"];

/** The aggregate types `history` takes. */
export const historyAggregateTypes = [
  "user",
  "voice_model",
  "face_model",
  "document",
  "conversation",
] as const;
/** One of {@link historyAggregateTypes}. */
export type HistoryAggregateType = (typeof historyAggregateTypes)[number];
/** Seconds, or a number with a unit: 90s, 15m, 1h, 7d, 2w. */
const TTL = /^(\d+)([smhdw]?)$/;

/** Usage text, for `help` and usage errors. */
export const usage = `Usage: bun run cli <command> [arguments] [options]

Commands:
  token --sub <id> --role user|service|admin [--ttl 1h]
        Mint a token signed with AUTH_JWT_SECRET and print it. --ttl: seconds or 90s, 15m, 1h, 7d, 2w.
  command <Rpc> ['<json>'|-] [--token T | --sub S --role R] [--addr host:port] [--timeout-ms N]
        Call a CommandService RPC (e.g. CreateUser) with a request in protobuf JSON form ('-': read stdin)
        and print the response as JSON. Without --token, a token is minted for --sub (default "cli") and
        --role (default "admin") with AUTH_JWT_SECRET. --addr defaults to 127.0.0.1:$GRPC_PORT.
  query <Rpc> ['<json>'|-] [same options]
        The same for QueryService; WatchConversation prints each message (one JSON per line) as it arrives.
  history <type> <id> [--json] [--token T | --sub S --role R] [--addr host:port] [--timeout-ms N]
        The audit trail of one aggregate (QueryService.GetAggregateHistory, every page): its events by
        version with the command id, the actor, the time and the payload. <type>: user, voice_model,
        face_model, document or conversation. --json prints the events as a JSON array.
  lag [--json]
        Per read view: how many published events it has not applied yet and the age of the oldest one.
        Needs DATABASE_URL (not the embedded mode: see the README's "Admin CLI").
  rebuild [--json]
        Full refresh of every read view, one by one, with progress on stderr; prints the rows changed.
        Needs DATABASE_URL (not the embedded mode: see the README's "Admin CLI").
  views status | build <view>
        Views changed without downtime (src/read-models/README.md, "Changing a view"): status lists the new
        versions registered by migrations and how far each is built; build fills one beside the old one (key
        batches, following the events meanwhile), swaps it in, and drops the old one. The consistency leader
        does the same by itself; build is for doing it now. Needs DATABASE_URL.
  dead-letters list [--source S] [--json] | show <id> [--json] | retry <id> [--wait-ms N] | discard <id> [--yes]
        Work set aside after failing for good (dead_letters): list them, show one with its payload, retry
        one (its consumer runs it again; on success it leaves the store) or discard it (asks to confirm
        unless --yes). Needs DATABASE_URL.
  help  This text.
`;

/** Parses the arguments after `cli` (i.e. `process.argv.slice(2)`). */
export function parseCliArgs(argv: readonly string[]): CliCommand {
  const [command, ...rest] = argv;
  switch (command) {
    case undefined:
    case "help":
    case "--help":
    case "-h":
      return rest[0] === undefined ? { kind: "help" } : { kind: "help", topic: rest[0] };
    case "token":
      return parseToken(rest);
    case "command":
    case "query":
      return parseRpc(command, rest);
    case "dead-letters":
      return parseDeadLetters(rest);
    case "history":
      return parseHistory(rest);
    case "lag":
    case "rebuild":
      return { kind: command, json: parse(rest, { json: { type: "boolean" } }, 0).values.json === true };
    case "views":
      return parseViews(rest);
    default:
      throw new UsageError(
        `unknown command "${command}"; one of: token, command, query, history, lag, rebuild, views, dead-letters, help`,
      );
  }
}

type Options = NonNullable<Parameters<typeof parseArgs>[0]>["options"];

function parse<O extends Options>(args: readonly string[], options: O, maxPositionals: number) {
  let parsed: ReturnType<typeof parseArgs<{ args: string[]; options: O; allowPositionals: true }>>;
  try {
    parsed = parseArgs({ args: [...args], options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  if (parsed.positionals.length > maxPositionals)
    throw new UsageError(`unexpected argument "${parsed.positionals[maxPositionals]}"`);
  return parsed;
}

function parseRole(value: string | undefined, fallback?: Role): Role {
  if (value === undefined) {
    if (fallback === undefined) throw new UsageError("--role is required (user, service or admin)");
    return fallback;
  }
  if (!roles.includes(value as Role))
    throw new UsageError(`--role must be user, service or admin, not "${value}"`);
  return value as Role;
}

/** A lifetime for jose: seconds as a number, or a span such as "1h". */
export function parseTtl(value: string): string | number {
  const m = TTL.exec(value.trim());
  if (!m || Number(m[1]) <= 0)
    throw new UsageError(`--ttl must be positive seconds or like 90s, 15m, 1h, 7d, 2w`);
  return m[2] === "" ? Number(m[1]) : `${m[1]}${m[2]}`;
}

function parseToken(args: readonly string[]): CliCommand {
  const { values } = parse(
    args,
    { sub: { type: "string" }, role: { type: "string" }, ttl: { type: "string", default: "1h" } },
    0,
  );
  if (values.sub === undefined || values.sub === "") throw new UsageError("--sub is required");
  return { kind: "token", sub: values.sub, role: parseRole(values.role), ttl: parseTtl(values.ttl) };
}

/** The options every gRPC call of the CLI takes: who calls, where, and its deadline. */
const callOptions = {
  token: { type: "string" },
  sub: { type: "string" },
  role: { type: "string" },
  addr: { type: "string" },
  "timeout-ms": { type: "string" },
} as const;

type CallValues = { [K in keyof typeof callOptions]?: string | undefined };

function parseCall(values: CallValues): {
  auth: CallAuth;
  addr: string | undefined;
  timeoutMs: number | undefined;
} {
  if (values.token !== undefined && (values.sub !== undefined || values.role !== undefined))
    throw new UsageError("give either --token or --sub/--role, not both");
  const auth: CallAuth =
    values.token !== undefined
      ? { kind: "token", token: values.token }
      : { kind: "mint", sub: values.sub ?? "cli", role: parseRole(values.role, "admin") };
  if (values.addr !== undefined && !/^[^\s:]+:\d{1,5}$/.test(values.addr))
    throw new UsageError(`--addr must be host:port, not "${values.addr}"`);
  let timeoutMs: number | undefined;
  if (values["timeout-ms"] !== undefined) {
    timeoutMs = Number(values["timeout-ms"]);
    if (!Number.isInteger(timeoutMs) || timeoutMs <= 0)
      throw new UsageError("--timeout-ms must be a positive integer");
  }
  return { auth, addr: values.addr, timeoutMs };
}

function parseRpc(service: "command" | "query", args: readonly string[]): CliCommand {
  const { values, positionals } = parse(args, callOptions, 2);
  const [rpc, json = "{}"] = positionals;
  if (rpc === undefined)
    throw new UsageError(
      `${service}: name the RPC, e.g. ${service === "command" ? "CreateUser" : "GetUserProfile"}`,
    );
  return { kind: "rpc", service, rpc, json, ...parseCall(values) };
}

function parseHistory(args: readonly string[]): CliCommand {
  const { values, positionals } = parse(args, { ...callOptions, json: { type: "boolean" } }, 2);
  const [type, id] = positionals;
  const aggregateType = type?.replace("-", "_");
  if (!historyAggregateTypes.includes(aggregateType as HistoryAggregateType))
    throw new UsageError(`history: <type> must be one of ${historyAggregateTypes.join(", ")}`);
  if (id === undefined || id === "") throw new UsageError("history: give the aggregate's id");
  const { json, ...call } = values;
  return {
    kind: "history",
    aggregateType: aggregateType as HistoryAggregateType,
    aggregateId: id,
    json: json === true,
    ...parseCall(call),
  };
}

const deadLetterActions = ["list", "show", "retry", "discard"] as const;

function parseDeadLetters(args: readonly string[]): CliCommand {
  const { values, positionals } = parse(
    args,
    {
      source: { type: "string" },
      json: { type: "boolean" },
      yes: { type: "boolean", short: "y" },
      "wait-ms": { type: "string", default: "15000" },
    },
    2,
  );
  const [action, id] = positionals;
  if (!deadLetterActions.includes(action as (typeof deadLetterActions)[number]))
    throw new UsageError(`dead-letters: one of ${deadLetterActions.join(", ")}`);
  if (action !== "list" && (id === undefined || !/^\d+$/.test(id)))
    throw new UsageError(`dead-letters ${action}: give the id of a dead letter (see dead-letters list)`);
  const waitMs = Number(values["wait-ms"]);
  if (!Number.isInteger(waitMs) || waitMs < 0)
    throw new UsageError("--wait-ms must be a non-negative integer");
  return {
    kind: "dead-letters",
    action: action as (typeof deadLetterActions)[number],
    id,
    source: values.source,
    json: values.json === true,
    yes: values.yes === true,
    waitMs,
  };
}

function parseViews(rest: readonly string[]): CliCommand {
  const { positionals } = parse(rest, {}, 2);
  const [action, view] = positionals;
  if (action === "status" && view === undefined) return { kind: "views", action, view };
  if (action === "build" && view !== undefined) return { kind: "views", action, view };
  throw new UsageError("views: status, or build <view>");
}
