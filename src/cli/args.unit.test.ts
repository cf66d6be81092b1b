import { describe, expect, test } from "bun:test";
import { parseCliArgs, parseTtl, UsageError } from "./args";

const fails = (argv: string[], message: RegExp) => {
  expect(() => parseCliArgs(argv)).toThrow(UsageError);
  expect(() => parseCliArgs(argv)).toThrow(message);
};

describe("parseCliArgs", () => {
  test("no command, help, --help and -h print the usage", () => {
    expect(parseCliArgs([])).toEqual({ kind: "help" });
    expect(parseCliArgs(["help"])).toEqual({ kind: "help" });
    expect(parseCliArgs(["--help"])).toEqual({ kind: "help" });
    expect(parseCliArgs(["-h"])).toEqual({ kind: "help" });
    expect(parseCliArgs(["help", "lag"])).toEqual({ kind: "help", topic: "lag" });
  });

  test("token: --sub and --role required, --ttl defaults to 1h", () => {
    expect(parseCliArgs(["token", "--sub", "u1", "--role", "user"])).toEqual({
      kind: "token",
      sub: "u1",
      role: "user",
      ttl: "1h",
    });
    expect(parseCliArgs(["token", "--sub=svc", "--role=service", "--ttl", "90"])).toMatchObject({
      role: "service",
      ttl: 90,
    });
    fails(["token", "--role", "admin"], /--sub is required/);
    fails(["token", "--sub", "u1"], /--role is required/);
    fails(["token", "--sub", "u1", "--role", "root"], /--role must be user, service or admin, not "root"/);
    fails(["token", "--sub", "u1", "--role", "user", "--ttl", "soon"], /--ttl/);
    fails(["token", "--sub", "u1", "--role", "user", "--verbose"], /Unknown option '--verbose'/);
    fails(["token", "--sub", "u1", "--role", "user", "extra"], /unexpected argument "extra"/);
  });

  test("ttl: seconds or a number with a unit", () => {
    expect(parseTtl("3600")).toBe(3600);
    expect(parseTtl("15m")).toBe("15m");
    expect(parseTtl("7d")).toBe("7d");
    expect(() => parseTtl("0")).toThrow(UsageError);
    expect(() => parseTtl("-5")).toThrow(UsageError);
    expect(() => parseTtl("1h30m")).toThrow(UsageError);
  });

  test("command and query: the RPC, the JSON (default {}), auth, address and timeout", () => {
    expect(parseCliArgs(["command", "CreateUser", '{"email":"a@b.c"}', "--addr", "gw:50051"])).toEqual({
      kind: "rpc",
      service: "command",
      rpc: "CreateUser",
      json: '{"email":"a@b.c"}',
      auth: { kind: "mint", sub: "cli", role: "admin" },
      addr: "gw:50051",
      timeoutMs: undefined,
    });
    expect(parseCliArgs(["query", "GetUserProfile", "--token", "T", "--timeout-ms", "500"])).toEqual({
      kind: "rpc",
      service: "query",
      rpc: "GetUserProfile",
      json: "{}",
      auth: { kind: "token", token: "T" },
      addr: undefined,
      timeoutMs: 500,
    });
    expect(parseCliArgs(["query", "WatchConversation", "-", "--sub", "u1", "--role", "user"])).toMatchObject({
      json: "-",
      auth: { kind: "mint", sub: "u1", role: "user" },
    });
    fails(["command"], /name the RPC, e\.g\. CreateUser/);
    fails(
      ["command", "CreateUser", "{}", "--token", "T", "--role", "user"],
      /either --token or --sub\/--role/,
    );
    fails(["command", "CreateUser", "{}", "--addr", "localhost"], /--addr must be host:port/);
    fails(["command", "CreateUser", "{}", "--timeout-ms", "0"], /--timeout-ms must be a positive integer/);
    fails(["command", "CreateUser", "{}", "more"], /unexpected argument "more"/);
  });

  test("lag and rebuild take only --json", () => {
    expect(parseCliArgs(["lag"])).toEqual({ kind: "lag", json: false });
    expect(parseCliArgs(["rebuild", "--json"])).toEqual({ kind: "rebuild", json: true });
    fails(["lag", "user_profile_view"], /unexpected argument/);
    fails(["rebuild", "--force"], /Unknown option '--force'/);
  });

  test("views: status, or build <view>", () => {
    expect(parseCliArgs(["views", "status"])).toEqual({ kind: "views", action: "status", view: undefined });
    expect(parseCliArgs(["views", "build", "face_model_summary_view"])).toEqual({
      kind: "views",
      action: "build",
      view: "face_model_summary_view",
    });
    fails(["views", "build"], /views: status, or build <view>/);
    fails(["views", "swap", "x"], /views: status, or build <view>/);
  });

  test("an unknown command names the known ones", () => {
    fails(
      ["migrate"],
      /unknown command "migrate"; one of: token, command, query, history, lag, rebuild, views, dead-letters, help/,
    );
  });

  test("history: <type> <id>, the call options, --json", () => {
    const id = "6f1c7a52-3c2e-4a7e-9a55-0d3f2a0b9c11";
    expect(parseCliArgs(["history", "conversation", id])).toEqual({
      kind: "history",
      aggregateType: "conversation",
      aggregateId: id,
      json: false,
      auth: { kind: "mint", sub: "cli", role: "admin" },
      addr: undefined,
      timeoutMs: undefined,
    });
    expect(
      parseCliArgs([
        "history",
        "voice-model",
        id,
        "--json",
        "--token",
        "T",
        "--addr",
        "h:1",
        "--timeout-ms",
        "5",
      ]),
    ).toMatchObject({
      aggregateType: "voice_model",
      json: true,
      auth: { kind: "token", token: "T" },
      timeoutMs: 5,
    });
    fails(
      ["history", "account", id],
      /<type> must be one of user, voice_model, face_model, document, conversation/,
    );
    fails(["history", "user"], /give the aggregate's id/);
    fails(["history", "user", id, "--token", "T", "--sub", "s"], /either --token or --sub/);
  });
});

describe("parseCliArgs dead-letters", () => {
  test("list, show, retry and discard, with their options", () => {
    expect(parseCliArgs(["dead-letters", "list", "--source", "command", "--json"])).toMatchObject({
      kind: "dead-letters",
      action: "list",
      source: "command",
      json: true,
    });
    expect(parseCliArgs(["dead-letters", "discard", "7", "--yes"])).toMatchObject({
      action: "discard",
      id: "7",
      yes: true,
    });
    expect(parseCliArgs(["dead-letters", "retry", "7", "--wait-ms", "500"])).toMatchObject({
      waitMs: 500,
      yes: false,
    });
    expect(() => parseCliArgs(["dead-letters", "show"])).toThrow(/give the id/);
    expect(() => parseCliArgs(["dead-letters", "purge"])).toThrow(/one of list, show, retry, discard/);
  });
});
