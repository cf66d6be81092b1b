/**
 * The canary: every 250 ms it renames its own user (retrying with the same command id, as a client would) and
 * reads the profile back with the write's consistency token; the answer must carry the new name. A tick is
 * skipped while the previous one is still running.
 */
import type { AckedCommand } from "./load";
import { type GatewayClients, sendWithRetry } from "./retry";

/** One canary round. */
export interface CanaryTick {
  readonly startedAt: number;
  /** When the write was acknowledged; undefined when it was not. */
  readonly writtenAt?: number;
  /** When the read came back with the written name. */
  readonly readAt?: number;
  /** The read answered OK with another name: a read-your-writes violation. */
  readonly stale?: string;
  /** The code of the failed write or read. */
  readonly error?: string;
}

/** A running canary. */
export interface Canary {
  readonly ticks: CanaryTick[];
  /** Its acknowledged writes, for the exactly-once check. */
  readonly acked: AckedCommand[];
  /** Its writes answered ABORTED as expired (never applied). */
  readonly expired: string[];
  stop(): Promise<void>;
}

/** Creates the canary's user and starts ticking every `periodMs`. */
export async function startCanary(clients: GatewayClients, token: string, periodMs = 250): Promise<Canary> {
  const gateways = clients.commands.length;
  const created = await clients.commands[0]?.call(
    "createUser",
    { email: `canary-${crypto.randomUUID()}@example.com`, displayName: "canary 0" },
    { token },
  );
  const userId = created?.result?.aggregateId ?? "";
  const ticks: CanaryTick[] = [];
  const acked: AckedCommand[] = [];
  const expired: string[] = [];
  let n = 0;
  let busy: Promise<void> | undefined;
  let stopped = false;

  const tick = async (): Promise<void> => {
    n++;
    const startedAt = Date.now();
    const displayName = `canary ${n}`;
    const written = await sendWithRetry(
      gateways,
      (g, deadline, commandId) =>
        (clients.commands[g] as GatewayClients["commands"][number]).call(
          "updateUserProfile",
          { options: { commandId }, userId, displayName },
          { token, deadline },
        ),
      () => `canary-${n}-${crypto.randomUUID()}`,
      { attemptMs: 1_000, budgetMs: 90_000, firstGateway: n },
    );
    for (const id of written.expired) expired.push(id);
    if (!written.ok) {
      ticks.push({ startedAt, error: `write ${written.code}` });
      return;
    }
    const writtenAt = Date.now();
    acked.push({
      commandId: written.commandId,
      lane: -1,
      seq: n,
      kind: "canary",
      ackedAt: writtenAt,
      point: written.point,
    });
    try {
      const query = clients.queries[n % gateways] as GatewayClients["queries"][number];
      const read = await query.call(
        "getUserProfile",
        { userId, options: { minConsistencyToken: written.token } },
        { token, deadline: Date.now() + 2_000 },
      );
      const name = read.profile?.displayName;
      if (name === displayName) ticks.push({ startedAt, writtenAt, readAt: Date.now() });
      else ticks.push({ startedAt, writtenAt, stale: `${name} instead of ${displayName}` });
    } catch (error) {
      ticks.push({
        startedAt,
        writtenAt,
        error: `read ${(error as { code?: number }).code ?? String(error)}`,
      });
    }
  };

  const timer = setInterval(() => {
    if (busy !== undefined || stopped) return;
    busy = tick().finally(() => {
      busy = undefined;
    });
  }, periodMs);
  return {
    ticks,
    acked,
    expired,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await busy;
    },
  };
}
