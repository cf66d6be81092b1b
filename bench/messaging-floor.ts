/**
 * bench:commands' messaging floor: the command path's mandated messaging shape alone, to tell how much of the
 * e2e target this transport leaves to win on this machine. A gRPC call to floor-server.ts, which publishes it
 * to JetStream (work queue, file storage, partitioned, `Nats-Msg-Id`) and awaits the PubAck; floor-responder.ts
 * pulls it with a JetStream consumer and replies on core NATS, then acks; the server answers the call. No
 * Postgres, no threads, no auth or envelope: whatever worker sits behind this transport, the e2e command path
 * cannot go faster than this on the same cores.
 */
import { jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import { type BenchChild, startBenchChild } from "./child-process";
import { createFloorStream, deleteFloorStream } from "./floor-stream";

/** The floor's two processes, running. */
export interface MessagingFloor {
  /** `127.0.0.1:<port>` of the floor's gRPC server. */
  readonly address: string;
  /** Its processes by label, for the CPU meter. */
  readonly pids: ReadonlyArray<readonly [string, number]>;
  /** Stops both processes and deletes the floor's stream. */
  stop(): Promise<void>;
}

/** Creates the floor's stream under `nats.prefix` and starts its server and responder; undoes it all on failure. */
export async function startMessagingFloor(nats: {
  readonly nc: NatsConnection;
  readonly url: string;
  readonly prefix: string;
}): Promise<MessagingFloor> {
  const jsm = await jetstreamManager(nats.nc);
  const children: Array<readonly [string, BenchChild]> = [];
  const stop = async () => {
    await Promise.all(children.map(([, child]) => child.stop()));
    await deleteFloorStream(jsm, nats.prefix);
  };
  try {
    await createFloorStream(jsm, nats.prefix);
    const start = async (label: string, script: string, msg: string) => {
      const child = await startBenchChild(new URL(script, import.meta.url), (l) => l.msg === msg, {
        args: [nats.url, nats.prefix],
      });
      children.push([label, child]);
      return child;
    };
    const server = await start("floor server", "./floor-server.ts", "floor listening");
    await start("floor responder", "./floor-responder.ts", "floor responder consuming");
    return {
      address: `127.0.0.1:${server.ready.port as number}`,
      pids: children.map(([label, child]) => [label, child.pid] as const),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
