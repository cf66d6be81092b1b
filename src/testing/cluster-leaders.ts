/**
 * Who leads a stream and its consumers on a private JetStream cluster (see `startPrivateNatsCluster`: node `i`
 * is the server `n<i>`), and when they have a leader again after a node's loss: a failover test compares the
 * time its commands came back with the time the cluster's elections took, which nats-server decides alone.
 *
 * ```ts
 * await waitUntilCurrent(cluster.nodes.map((n) => n.url), "S", ["c0", "c1"]);
 * const before = await leadersOf(jsm, "S", ["c0", "c1"]); // [stream, c0, c1]: node indexes
 * await cluster.nodes[before[0]]?.stop("SIGKILL");
 * const watch = await watchLeadersBack(survivors, "S", ["c0", "c1"], before[0]);
 * const back = await watch.stop(); // ms from the watch's start until each had a leader on another node
 * ```
 */
import { type JetStreamManager, jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";

/** Leader and replicas of a stream or consumer, as its info reports them. */
interface ClusterInfo {
  readonly leader?: string;
  readonly replicas?: readonly { readonly current: boolean }[];
}

async function clusterInfos(
  jsm: JetStreamManager,
  stream: string,
  consumers: readonly string[],
): Promise<(ClusterInfo | undefined)[]> {
  return Promise.all([
    jsm.streams.info(stream).then(
      (i) => i.cluster,
      () => undefined,
    ),
    ...consumers.map((c) =>
      jsm.consumers.info(stream, c).then(
        (i) => i.cluster,
        () => undefined,
      ),
    ),
  ]);
}

const nodeIndex = (info: ClusterInfo | undefined): number | undefined =>
  info?.leader === undefined ? undefined : Number(info.leader.replace(/^n/, ""));

/** The node leading `stream`, then each of `consumers` (undefined: none answered as leader). */
export async function leadersOf(
  jsm: JetStreamManager,
  stream: string,
  consumers: readonly string[],
): Promise<(number | undefined)[]> {
  return (await clusterInfos(jsm, stream, consumers)).map(nodeIndex);
}

/**
 * Resolves once `stream` and each of `consumers` have a leader and `replicas - 1` followers that are all
 * current (a node just restarted has caught up); rejects after `timeoutMs` saying what is not.
 */
export async function waitUntilCurrent(
  servers: readonly string[],
  stream: string,
  consumers: readonly string[],
  replicas = servers.length,
  timeoutMs = 30_000,
): Promise<void> {
  const nc = await connect({ servers: [...servers], timeout: 5_000 });
  try {
    const jsm = await jetstreamManager(nc, { timeout: 2_000 });
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const infos = await clusterInfos(jsm, stream, consumers);
      const current = (i: ClusterInfo | undefined) =>
        i?.leader !== undefined && i.replicas?.length === replicas - 1 && i.replicas.every((r) => r.current);
      if (infos.every(current)) return;
      if (performance.now() > deadline) {
        throw new Error(`not all current after ${timeoutMs} ms: ${JSON.stringify(infos)}`);
      }
      await Bun.sleep(250);
    }
  } finally {
    await nc.close();
  }
}

/** A watch started by {@link watchLeadersBack}. */
export interface LeadersWatch {
  /**
   * Stops watching: ms from the start until `stream`, then each consumer, had a leader other than the lost
   * node (undefined: not within the watch).
   */
  stop(): Promise<(number | undefined)[]>;
}

/**
 * Asks `servers` (the surviving nodes) every 100 ms who leads `stream` and `consumers` (each ask waits 400 ms
 * at most: a group without a leader does not answer), noting when each first has a leader other than node
 * `lost`. A time noted is late by up to one ask.
 */
export async function watchLeadersBack(
  servers: readonly string[],
  stream: string,
  consumers: readonly string[],
  lost: number,
): Promise<LeadersWatch> {
  const started = performance.now();
  const nc = await connect({ servers: [...servers], timeout: 5_000 });
  // No account check: it goes unanswered while the meta group has no leader.
  const jsm = await jetstreamManager(nc, { timeout: 400, checkAPI: false });
  const back: (number | undefined)[] = [stream, ...consumers].map(() => undefined);
  let watching = true;
  const loop = (async () => {
    while (watching) {
      const leaders = await leadersOf(jsm, stream, consumers);
      const at = performance.now() - started;
      leaders.forEach((leader, i) => {
        if (back[i] === undefined && leader !== undefined && leader !== lost) back[i] = at;
      });
      await Bun.sleep(100);
    }
  })();
  return {
    async stop() {
      watching = false;
      await loop;
      await nc.close();
      return back;
    },
  };
}
