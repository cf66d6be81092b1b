/**
 * The faults, as data: each scenario injects one fault into a running deployment and ends it, and says when
 * the fault began and when the dependency answered again (a killed role's survivors are expected to carry on
 * at once, so there the two coincide).
 */
import pg from "pg";
import type { PrivateNats, PrivatePostgres, StackRole, TcpProxy } from "../testing";
import type { Deployment } from "./deployment";

/** The private servers a scenario may restart. */
export interface Servers {
  readonly postgres: PrivatePostgres;
  readonly nats: PrivateNats;
}

/** When a fault began and ended. */
export interface FaultTimes {
  readonly faultAt: number;
  /** When the dependency answered again (for a killed role: the kill itself). */
  readonly healAt: number;
}

/** One fault. */
export interface Scenario {
  readonly name: string;
  /** A dependency went away: gateways' health must drop and come back. */
  readonly dependencyLost: boolean;
  /** The process the scenario kills (its exit is expected). */
  readonly killed?: string;
  run(deployment: Deployment, servers: Servers): Promise<FaultTimes>;
}

/** How long a dependency stays away. */
const outageMs = 3_000;

const roleKill = (role: StackRole): Scenario => ({
  name: `${role} SIGKILL`,
  dependencyLost: false,
  // The first of each role leads (relay, consistency) or owns partitions (worker) or serves lanes (gateway).
  killed: `${role}-1`,
  async run(deployment) {
    const faultAt = Date.now();
    await deployment.kill(`${role}-1`, "SIGKILL");
    await Bun.sleep(outageMs);
    await deployment.restart(`${role}-1`);
    return { faultAt, healAt: faultAt };
  },
});

/** A cut network: every connection is reset, and new ones get no answer until it is back. */
const cut = (proxy: TcpProxy): void => {
  proxy.hang();
  proxy.reset();
};

type Step = (deployment: Deployment, servers: Servers) => Promise<void> | void;

const outage = (name: string, down: Step, up: Step): Scenario => ({
  name,
  dependencyLost: true,
  async run(deployment, servers) {
    const faultAt = Date.now();
    await down(deployment, servers);
    await Bun.sleep(outageMs);
    await up(deployment, servers);
    return { faultAt, healAt: Date.now() };
  },
});

const natsRestart = (signal: "SIGTERM" | "SIGKILL"): Scenario =>
  outage(
    `NATS ${signal} restart`,
    (_, s) => s.nats.stop(signal),
    (_, s) => s.nats.start(),
  );

/**
 * NATS SIGKILLed and started again first without JetStream (clients reconnect, JetStream requests fail, as while
 * a big store is restored), then restarted with it: the NATS client's own consumer recovery backed off for its
 * pull's `expires` after such a failed lookup (the document processor stood still ~20 s).
 */
const natsJetStreamLate: Scenario = outage(
  "NATS SIGKILL restart (JetStream late)",
  async (_, s) => {
    await s.nats.stop("SIGKILL");
    await s.nats.start({ jetstream: false });
  },
  async (_, s) => {
    await s.nats.stop("SIGTERM");
    await s.nats.start();
  },
);

const postgresRestart = (mode: "fast" | "immediate"): Scenario =>
  outage(
    `Postgres ${mode} restart`,
    (_, s) => s.postgres.stop(mode),
    (_, s) => s.postgres.start(),
  );

/** The network to a dependency: `cut` resets its connections, `silent` keeps them open; neither answers. */
const network = (dependency: "Postgres" | "NATS", kind: "cut" | "silent"): Scenario => {
  const proxy = (d: Deployment) => (dependency === "Postgres" ? d.pgProxy : d.natsProxy);
  return outage(
    `${dependency} network ${kind}`,
    (d) => (kind === "cut" ? cut(proxy(d)) : proxy(d).hang()),
    (d) => proxy(d).resume(),
  );
};

/** Every scenario of `bun run chaos`, in the order they run. */
export const scenarios: readonly Scenario[] = [
  roleKill("worker"),
  roleKill("gateway"),
  roleKill("relay"),
  roleKill("consistency"),
  natsRestart("SIGTERM"),
  natsRestart("SIGKILL"),
  natsJetStreamLate,
  postgresRestart("fast"),
  postgresRestart("immediate"),
  network("Postgres", "cut"),
  network("Postgres", "silent"),
  network("NATS", "cut"),
  network("NATS", "silent"),
  hungBackend("relay leader", "clone-outbox-relay:"),
  hungBackend("command thread", "command-thread-"),
];

/** The scenario called `name`. */
export function scenarioNamed(name: string): Scenario {
  const found = scenarios.find((s) => s.name === name);
  if (found === undefined)
    throw new Error(`no scenario "${name}"; there are: ${scenarios.map((s) => s.name).join(", ")}`);
  return found;
}

/**
 * A Postgres backend that stops answering while the server is fine: SIGSTOP of one session whose
 * application_name starts with `application` (the leading relay's, or a command thread's), SIGCONT after the
 * outage. Connections go through the proxy, so the backend's own pid is the one to stop. Postgres itself never
 * went away, so recovery counts from the fault: the service is expected to work around one hung session.
 */
function hungBackend(what: string, application: string): Scenario {
  return {
    name: `Postgres backend SIGSTOP (${what})`,
    dependencyLost: false,
    async run(deployment, servers) {
      const victim = await busyBackend(servers.postgres, deployment.db.name, application);
      if (victim === undefined) throw new Error(`no ${application} session in ${deployment.db.name}`);
      const faultAt = Date.now();
      process.kill(victim.pid, "SIGSTOP");
      try {
        await Bun.sleep(outageMs);
      } finally {
        process.kill(victim.pid, "SIGCONT");
      }
      return { faultAt, healAt: faultAt };
    },
  };
}

/**
 * A client backend on `database` whose application_name starts with `prefix`: one caught running a statement
 * (polled for up to 2 s), else the oldest.
 */
async function busyBackend(
  postgres: PrivatePostgres,
  database: string,
  prefix: string,
): Promise<{ pid: number } | undefined> {
  const client = new pg.Client({ connectionString: postgres.url, application_name: "chaos-admin" });
  await client.connect();
  try {
    let oldest: { pid: number } | undefined;
    for (const until = Date.now() + 2_000; Date.now() < until; ) {
      const res = await client.query<{ pid: number; state: string }>(
        `SELECT pid, state FROM pg_stat_activity
          WHERE backend_type = 'client backend' AND datname = $1 AND application_name LIKE $2 || '%'
          ORDER BY backend_start`,
        [database, prefix],
      );
      oldest ??= res.rows[0];
      const active = res.rows.find((r) => r.state === "active");
      if (active !== undefined) return active;
      await Bun.sleep(5);
    }
    return oldest;
  } finally {
    await client.end().catch(() => {});
  }
}
