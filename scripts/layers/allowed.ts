/**
 * Which folder of `src/` may import which: the layering `bun run check:layers` enforces (with no folder
 * cycles). Read from the bottom up: a folder imports only folders listed for it, which sit below it, so the
 * folders that run in one process (see src/README.md) never reach into another process's folders; what crosses
 * a process boundary lives in `contracts`. A file directly under `src/` is a folder of its own (`config`,
 * `main`). Test code is not checked (see `isTestCode` in graph.ts). A new folder, or a new dependency, is a
 * line here, reviewed with the change that needs it.
 */

/** What the process roles and the embedded mode both put together. */
const composed = [
  "actors",
  "commands",
  "config",
  "consistency",
  "contracts",
  "db",
  "documents",
  "errors",
  "erasure",
  "events",
  "gen",
  "health",
  "logging",
  "metrics",
  "outbox",
  "queries",
  "retention",
  "tracing",
  "transport",
];

/** Folder -> the folders it may import. */
export const allowedDependencies: Readonly<Record<string, readonly string[]>> = {
  // Foundations, used by every process.
  errors: [],
  config: ["errors"],
  lru: [],
  gen: [],
  tracing: ["config"],
  logging: ["tracing"],
  nats: [],
  // Pools, migrations, and the SQL toolkit the aggregates' stores and the write model are written with.
  db: ["config"],
  // The aggregates: pure deciders, and each one's definition (store, refs, owner, access rules), registered once.
  domain: ["db", "errors"],
  contracts: ["config", "domain", "errors"],
  // The write model: the SQL of a command batch (read, decide, write), stored command results, write errors,
  // the owner lookup.
  "write-model": ["contracts", "db", "domain", "errors", "lru"],
  "dead-letters": ["errors", "logging", "write-model"],
  // Buses: the command transport (JetStream, in-process), the outbox relay, the event sources.
  transport: ["contracts", "db", "dead-letters", "errors", "logging", "tracing"],
  outbox: ["config", "contracts", "db", "errors", "logging", "tracing", "transport"],
  events: ["contracts", "dead-letters", "logging", "outbox", "transport", "write-model"],
  // Worker side: mailboxes, the group-commit executor (orchestration; its SQL is the write model's), threads.
  actors: [
    "contracts",
    "dead-letters",
    "domain",
    "errors",
    "logging",
    "lru",
    "tracing",
    "transport",
    "write-model",
  ],
  // Gateway side: RPC plumbing, CommandService, QueryService.
  gateway: ["contracts", "errors", "gen", "lru", "tracing"],
  commands: ["contracts", "domain", "errors", "gateway", "gen", "write-model"],
  // Read side: the views (one definition each, and what is derived from them: the consistency rules, which views
  // each query reads, the progress the consistency role announces) under the consistency role and the queries.
  "read-models": ["contracts", "domain", "errors", "write-model"],
  consistency: [
    "contracts",
    "dead-letters",
    "logging",
    "outbox",
    "read-models",
    "tracing",
    "transport",
    "write-model",
  ],
  queries: [
    "commands",
    "config",
    "contracts",
    "errors",
    "gateway",
    "gen",
    "outbox",
    "read-models",
    "tracing",
    "transport",
    "write-model",
  ],
  documents: [
    "commands",
    "contracts",
    "dead-letters",
    "errors",
    "events",
    "logging",
    "outbox",
    "write-model",
  ],
  // A deleted user's erasure (an event consumer that closes the user's aggregates through the command path).
  erasure: [
    "commands",
    "contracts",
    "dead-letters",
    "domain",
    "errors",
    "events",
    "logging",
    "outbox",
    "write-model",
  ],
  // Pruning of command_results and command_blobs (the relay role's retention leader).
  retention: ["logging", "metrics", "write-model"],
  health: ["errors", "gateway", "gen"],
  http: ["gateway", "gen", "health"],
  metrics: ["errors", "gateway", "gen", "outbox", "read-models"],
  // Composition: process roles, the embedded all-in-one, the admin CLI, the entry point.
  roles: [...composed, "gateway", "http", "nats", "write-model"],
  embedded: [...composed, "roles", "write-model"],
  cli: [
    "config",
    "consistency",
    "contracts",
    "db",
    "dead-letters",
    "gateway",
    "gen",
    "outbox",
    "read-models",
    "write-model",
  ],
  main: ["config", "db", "embedded", "errors", "logging", "metrics", "roles", "tracing"],
  // The fault suite (`bun run chaos`): a deployment of child processes, driven from outside like a client.
  chaos: ["contracts", "gateway", "gen", "testing", "transport"],
};

/** Edges of a known folder cycle, left out of the cycle check until the change that removes them lands: none. */
export const knownCycleEdges: ReadonlySet<string> = new Set<string>();
