/**
 * A TCP proxy for tests (Bun.listen + Bun.connect): point a process at it instead of Postgres or NATS, then
 * `cut()` to close every connection and refuse new ones, and `restore()` to listen on the same port again.
 * The real server is never touched.
 */
import type { Socket, TCPSocketListener } from "bun";

/** A proxy to one upstream `host:port`. */
export interface TcpProxy {
  /** The port the proxy listens on (the same after a restore). */
  readonly port: number;
  /** Closes every proxied connection and stops listening: clients see resets and refused connections. */
  cut(): void;
  /** Listens again on the same port. */
  restore(): void;
  /** Stops for good. */
  close(): void;
}

interface Pipe {
  /** Bytes waiting to be written to this socket (its send buffer was full). */
  backlog: Uint8Array[];
  /** Client bytes that arrived before the upstream connection was open. */
  early: Uint8Array[];
  peer: Socket<Pipe> | undefined;
}

/** Starts a proxy to `upstreamHost:upstreamPort` on a free local port. */
export function startTcpProxy(upstreamHost: string, upstreamPort: number): TcpProxy {
  const open = new Set<Socket<Pipe>>();
  let listener: TCPSocketListener<Pipe> | undefined;

  const send = (to: Socket<Pipe>, data: Uint8Array): void => {
    const backlog = to.data.backlog;
    if (backlog.length > 0) {
      backlog.push(data.slice());
      return;
    }
    const written = to.write(data);
    if (written < data.byteLength) backlog.push(data.slice(Math.max(0, written)));
  };
  const flush = (socket: Socket<Pipe>): void => {
    const backlog = socket.data.backlog;
    while (backlog.length > 0) {
      const chunk = backlog[0]!;
      const written = socket.write(chunk);
      if (written < chunk.byteLength) {
        backlog[0] = chunk.subarray(Math.max(0, written));
        return;
      }
      backlog.shift();
    }
  };
  const closeBoth = (socket: Socket<Pipe>): void => {
    open.delete(socket);
    const peer = socket.data.peer;
    if (peer !== undefined && open.has(peer)) {
      open.delete(peer);
      peer.end();
    }
  };

  const listen = (port: number): TCPSocketListener<Pipe> =>
    Bun.listen<Pipe>({
      hostname: "127.0.0.1",
      port,
      socket: {
        open(client) {
          client.data = { backlog: [], early: [], peer: undefined };
          open.add(client);
          Bun.connect<Pipe>({
            hostname: upstreamHost,
            port: upstreamPort,
            data: { backlog: [], early: [], peer: client },
            socket: {
              open(upstream) {
                if (!open.has(client)) {
                  upstream.end();
                  return;
                }
                open.add(upstream);
                const early = client.data.early;
                client.data.early = [];
                client.data.peer = upstream;
                for (const chunk of early) send(upstream, chunk);
              },
              data(_upstream, data) {
                send(client, data);
              },
              drain: flush,
              close: closeBoth,
              error: closeBoth,
            },
          }).catch(() => {
            open.delete(client);
            client.end();
          });
        },
        data(client, data) {
          const upstream = client.data.peer;
          if (upstream === undefined) client.data.early.push(data.slice());
          else send(upstream, data);
        },
        drain: flush,
        close: closeBoth,
        error: closeBoth,
      },
    });

  listener = listen(0);
  const port = listener.port;
  return {
    port,
    cut() {
      listener?.stop(true);
      listener = undefined;
      for (const socket of [...open]) socket.terminate();
      open.clear();
    },
    restore() {
      listener ??= listen(port);
    },
    close() {
      this.cut();
    },
  };
}
