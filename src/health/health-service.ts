/**
 * `grpc.health.v1.Health` over a {@link HealthMonitor}: Check and List answer the current status, Watch
 * sends it at once and then every change, until the client leaves (the health-checking protocol of gRPC).
 * The service is public: the auth interceptor lets it through without a token.
 */
import { AppError } from "../errors";
import { registerService, type ServiceRegistration } from "../gateway";
import { Health, HealthCheckResponse_ServingStatus as ServingStatus } from "../gen/grpc/health/v1/health_pb";
import type { HealthMonitor } from "./monitor";

/** The Health service answering from `monitor`. */
export function createHealthService(monitor: HealthMonitor): ServiceRegistration {
  return registerService(Health, {
    async check(request) {
      const status = monitor.status(request.service);
      if (status === undefined) throw new AppError("NOT_FOUND", `unknown service "${request.service}"`);
      return { status };
    },
    async list() {
      const statuses: Record<string, { status: ServingStatus }> = {};
      for (const service of monitor.services) {
        statuses[service] = { status: monitor.status(service) ?? ServingStatus.SERVICE_UNKNOWN };
      }
      return { statuses };
    },
    watch(request, ctx) {
      return watchStatus(monitor, request.service, ctx.signal);
    },
  });
}

/**
 * The status of `service` now, then each time it changes; SERVICE_UNKNOWN for a name the monitor does not
 * serve (the stream stays open, as the protocol asks). A plain iterator, so that `return()` ends a pending
 * `next()` at once.
 */
export function watchStatus(
  monitor: HealthMonitor,
  service: string,
  signal: AbortSignal,
): AsyncIterable<{ status: ServingStatus }> {
  return {
    [Symbol.asyncIterator]() {
      const current = (): ServingStatus => monitor.status(service) ?? ServingStatus.SERVICE_UNKNOWN;
      const pending: ServingStatus[] = [current()];
      let last = pending[0];
      let done = false;
      let wake: (() => void) | undefined;
      const notify = (): void => {
        wake?.();
        wake = undefined;
      };
      const unsubscribe = monitor.subscribe(() => {
        const status = current();
        if (status !== last) {
          last = status;
          pending.push(status);
        }
        // A stopped monitor (the server is going away) ends the stream after its last status.
        if (monitor.isStopped()) finish();
        else notify();
      });
      const finish = (): void => {
        done = true;
        unsubscribe();
        signal.removeEventListener("abort", finish);
        notify();
      };
      signal.addEventListener("abort", finish, { once: true });
      if (monitor.isStopped()) finish();
      return {
        async next() {
          for (;;) {
            const status = pending.shift();
            if (status !== undefined) return { done: false, value: { status } };
            if (done || signal.aborted) {
              finish();
              return { done: true, value: undefined };
            }
            await new Promise<void>((resolve) => {
              wake = resolve;
            });
          }
        },
        async return() {
          finish();
          return { done: true, value: undefined };
        },
      };
    },
  };
}
