/**
 * The health monitor over the real probes when the dependency hangs or resets connections (a TCP proxy in
 * front of Postgres / a private nats-server): NOT_SERVING within a second of losing it, SERVING within a
 * second of it answering again, however often it goes away.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { HealthCheckResponse_ServingStatus as ServingStatus } from "../gen/grpc/health/v1/health_pb";
import { connectNats, type NatsHandles } from "../nats";
import { type PrivateNats, startPrivateNats, startTcpProxy, type TcpProxy } from "../testing/private-servers";
import { loadTestSettings } from "../testing/settings";
import { createHealthMonitor, type HealthMonitor } from "./monitor";
import { natsProbe, postgresProbe } from "./probes";

let proxy: TcpProxy;
let nats: PrivateNats;
let handles: NatsHandles;
const monitors: HealthMonitor[] = [];

beforeAll(async () => {
  const target = new URL(loadTestSettings().databaseUrl);
  proxy = await startTcpProxy(Number(target.port || 5432));
  nats = await startPrivateNats();
  handles = await connectNats(nats.url, "health-faults-test");
});
afterAll(async () => {
  await Promise.all(monitors.map((m) => m.stop()));
  await handles?.nc.close();
  await Promise.all([proxy?.close(), nats?.destroy()]);
});

/** Ms until `monitor` reports `status` for the overall service; throws after `timeoutMs`. */
async function until(monitor: HealthMonitor, status: ServingStatus, timeoutMs = 5_000): Promise<number> {
  const started = performance.now();
  while (monitor.status("") !== status) {
    if (performance.now() - started > timeoutMs)
      throw new Error(`still ${ServingStatus[monitor.status("") ?? 0]} after ${timeoutMs} ms`);
    await Bun.sleep(10);
  }
  return performance.now() - started;
}

test("Postgres: hung, then answering again, then reset, twice over", async () => {
  const url = new URL(loadTestSettings().databaseUrl);
  url.port = String(proxy.port);
  const monitor = createHealthMonitor({ probes: [postgresProbe(url.toString())], services: [] });
  monitors.push(monitor);
  await monitor.start();
  expect(monitor.status("")).toBe(ServingStatus.SERVING);
  for (let round = 0; round < 2; round++) {
    proxy.hang();
    expect(await until(monitor, ServingStatus.NOT_SERVING)).toBeLessThan(1_000);
    await Bun.sleep(600); // a few probes time out meanwhile
    proxy.resume();
    expect(await until(monitor, ServingStatus.SERVING)).toBeLessThan(1_000);
    proxy.reset();
    await Bun.sleep(300);
    expect(await until(monitor, ServingStatus.SERVING)).toBeLessThan(1_000);
  }
}, 30_000);

test("Postgres: a connection attempt that hangs (the probe's connection was lost first)", async () => {
  const url = new URL(loadTestSettings().databaseUrl);
  url.port = String(proxy.port);
  const monitor = createHealthMonitor({ probes: [postgresProbe(url.toString())], services: [] });
  monitors.push(monitor);
  await monitor.start();
  expect(monitor.status("")).toBe(ServingStatus.SERVING);
  for (let round = 0; round < 2; round++) {
    proxy.hang();
    proxy.reset(); // the next probe connects anew, into a proxy that does not forward
    expect(await until(monitor, ServingStatus.NOT_SERVING)).toBeLessThan(1_000);
    await Bun.sleep(2_500); // past pg's own connect timeout (2 s)
    proxy.resume();
    expect(await until(monitor, ServingStatus.SERVING)).toBeLessThan(1_000);
  }
}, 30_000);

test("NATS: SIGKILLed and started again", async () => {
  const monitor = createHealthMonitor({ probes: [natsProbe(handles.nc)], services: [] });
  monitors.push(monitor);
  await monitor.start();
  expect(monitor.status("")).toBe(ServingStatus.SERVING);
  await nats.stop("SIGKILL");
  expect(await until(monitor, ServingStatus.NOT_SERVING)).toBeLessThan(1_000);
  await nats.start();
  expect(await until(monitor, ServingStatus.SERVING)).toBeLessThan(1_000);
}, 30_000);
