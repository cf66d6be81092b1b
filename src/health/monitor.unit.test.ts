import { describe, expect, test } from "bun:test";
import { HealthCheckResponse_ServingStatus as ServingStatus } from "../gen/grpc/health/v1/health_pb";
import { watchStatus } from "./health-service";
import { createHealthMonitor, type HealthProbe } from "./monitor";

/** A probe whose answer the test switches: up, failing, or hanging until aborted. */
function switchable(name: string) {
  let mode: "up" | "fail" | "hang" = "up";
  let calls = 0;
  let aborted = 0;
  const probe: HealthProbe = {
    name,
    check(signal) {
      calls++;
      if (mode === "up") return Promise.resolve();
      if (mode === "fail")
        return Promise.reject(Object.assign(new Error("refused"), { code: "ECONNREFUSED" }));
      return new Promise((_, reject) =>
        signal.addEventListener("abort", () => {
          aborted++;
          reject(new Error("aborted"));
        }),
      );
    },
  };
  return {
    probe,
    set: (m: typeof mode) => {
      mode = m;
    },
    stats: () => ({ calls, aborted }),
  };
}

const services = ["clone.v1.CommandService", "clone.v1.QueryService"];

describe("health monitor", () => {
  test("SERVING while every probe answers; NOT_SERVING naming the failed one; back when it recovers", async () => {
    const pg = switchable("postgres");
    const nats = switchable("nats");
    const monitor = createHealthMonitor({ probes: [pg.probe, nats.probe], services, intervalMs: 10_000 });
    await monitor.probe();
    for (const s of ["", ...services]) expect(monitor.status(s)).toBe(ServingStatus.SERVING);
    expect(monitor.status("other.Service")).toBeUndefined();
    expect(monitor.readiness().ready).toBe(true);

    pg.set("fail");
    await monitor.probe();
    expect(monitor.status("")).toBe(ServingStatus.NOT_SERVING);
    expect(monitor.status("clone.v1.QueryService")).toBe(ServingStatus.NOT_SERVING);
    const report = monitor.readiness();
    expect(report.ready).toBe(false);
    expect(report.checks.postgres).toMatchObject({ up: false, error: "ECONNREFUSED: refused" });
    expect(report.checks.nats?.up).toBe(true);

    pg.set("up");
    await monitor.probe();
    expect(monitor.status("")).toBe(ServingStatus.SERVING);
    await monitor.stop();
  });

  test("a hanging probe is down at the timeout, and its signal is aborted", async () => {
    const pg = switchable("postgres");
    const monitor = createHealthMonitor({ probes: [pg.probe], services, intervalMs: 10_000, timeoutMs: 30 });
    await monitor.probe();
    pg.set("hang");
    const started = performance.now();
    await monitor.probe();
    expect(performance.now() - started).toBeLessThan(500);
    expect(monitor.status("")).toBe(ServingStatus.NOT_SERVING);
    expect(monitor.readiness().checks.postgres?.error).toContain("no answer within 30 ms");
    expect(pg.stats().aborted).toBe(1);
    await monitor.stop();
  });

  test("started, it notices a failure within a second and the recovery as fast", async () => {
    const pg = switchable("postgres");
    const monitor = createHealthMonitor({ probes: [pg.probe], services });
    await monitor.start();
    const changes: ServingStatus[] = [];
    monitor.subscribe(() => changes.push(monitor.status("") ?? ServingStatus.UNKNOWN));
    pg.set("hang");
    const lost = performance.now();
    while (monitor.status("") === ServingStatus.SERVING) await Bun.sleep(10);
    expect(performance.now() - lost).toBeLessThan(1_000);
    pg.set("up");
    const back = performance.now();
    while (monitor.status("") !== ServingStatus.SERVING) await Bun.sleep(10);
    expect(performance.now() - back).toBeLessThan(1_000);
    expect(changes).toEqual([ServingStatus.NOT_SERVING, ServingStatus.SERVING]);
    await monitor.stop();
    expect(monitor.status("")).toBe(ServingStatus.NOT_SERVING);
  });

  test("watchStatus: the status now, then each change; SERVICE_UNKNOWN for other names; ends on stop", async () => {
    const pg = switchable("postgres");
    const monitor = createHealthMonitor({ probes: [pg.probe], services, intervalMs: 10_000 });
    await monitor.probe();
    const controller = new AbortController();
    const seen: ServingStatus[] = [];
    const watching = (async () => {
      for await (const { status } of watchStatus(monitor, "clone.v1.CommandService", controller.signal)) {
        seen.push(status);
      }
    })();
    const unknown = watchStatus(monitor, "nope", controller.signal)[Symbol.asyncIterator]();
    expect((await unknown.next()).value).toEqual({ status: ServingStatus.SERVICE_UNKNOWN });
    await unknown.return?.();

    pg.set("fail");
    await monitor.probe();
    await monitor.probe(); // no change: nothing sent
    pg.set("up");
    await monitor.probe();
    await monitor.stop();
    await watching;
    expect(seen).toEqual([
      ServingStatus.SERVING,
      ServingStatus.NOT_SERVING,
      ServingStatus.SERVING,
      ServingStatus.NOT_SERVING,
    ]);
  });

  test("watchStatus ends when the client leaves, even while waiting for a change", async () => {
    const pg = switchable("postgres");
    const monitor = createHealthMonitor({ probes: [pg.probe], services, intervalMs: 10_000 });
    await monitor.probe();
    const controller = new AbortController();
    const iterator = watchStatus(monitor, "", controller.signal)[Symbol.asyncIterator]();
    expect((await iterator.next()).value).toEqual({ status: ServingStatus.SERVING });
    const pending = iterator.next();
    controller.abort();
    expect(await pending).toEqual({ done: true, value: undefined });
    await monitor.stop();
  });
});
