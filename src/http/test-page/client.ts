/**
 * The browser test page's script (bundled by the test with Bun.build): calls CreateUser, then GetUserProfile
 * reading that write, over gRPC-web from another origin, and shows the outcome in `#result` (or `#error`).
 * The gateway URL, token and user come in the page's query string.
 */
import { ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import { CommandService } from "../../gen/clone/v1/command_service_pb";
import { QueryService } from "../../gen/clone/v1/query_service_pb";

// The few browser globals used, declared here: the project's tsconfig has no DOM lib, and a
// `/// <reference lib="dom" />` would add it to every file of the program.
declare const location: { readonly search: string };
declare const document: { getElementById(id: string): { textContent: string | null } | null };

/** What the page shows once the calls are done. */
export interface PageResult {
  readonly aggregateId: string;
  readonly events: readonly string[];
  readonly email: string;
  readonly displayName: string;
}

async function run(): Promise<PageResult> {
  const params = new URLSearchParams(location.search);
  const gateway = params.get("gateway") ?? "";
  const token = params.get("token") ?? "";
  const userId = params.get("user") ?? "";
  const transport = createGrpcWebTransport({ baseUrl: gateway });
  const headers = { authorization: `Bearer ${token}` };
  const commands = createClient(CommandService, transport);
  const queries = createClient(QueryService, transport);
  const created = await commands.createUser(
    { userId, email: `${userId}@browser.example`, displayName: "Browser User" },
    { headers },
  );
  const { profile } = await queries.getUserProfile(
    { userId, options: { minConsistencyToken: created.result?.consistencyToken ?? "" } },
    { headers },
  );
  return {
    aggregateId: created.result?.aggregateId ?? "",
    events: created.result?.events ?? [],
    email: profile?.email ?? "",
    displayName: profile?.displayName ?? "",
  };
}

function show(id: "result" | "error", text: string): void {
  const element = document.getElementById(id);
  if (element) element.textContent = text;
}

run().then(
  (result) => show("result", JSON.stringify(result)),
  (error: unknown) => {
    const e = ConnectError.from(error);
    show("error", JSON.stringify({ code: e.code, message: e.rawMessage }));
  },
);
