/**
 * Watches the backing services a gateway needs (Postgres, NATS) and derives the serving status of the
 * gateway's gRPC services from them, for `grpc.health.v1.Health` and `/readyz`.
 *
 * Every `intervalMs` each probe runs with a `timeoutMs` budget; a probe that fails or overruns marks its
 * dependency down, and a service is SERVING only while every dependency is up. With the defaults (250 ms,
 * 500 ms) a lost dependency shows as NOT_SERVING within about 750 ms. A probe still running from an earlier
 * round is not started again (no pile-up on a hanging server); its signal is aborted at the timeout, and from
 * then on it counts as finished (whatever it still awaits is abandoned), so the next round probes afresh.
 */
import { HealthCheckResponse_ServingStatus as ServingStatus } from "../gen/grpc/health/v1/health_pb";

/** One backing service to probe. */
export interface HealthProbe {
  /** Short name used in `/readyz` and logs, e.g. `postgres`. */
  readonly name: string;
  /** Resolves when the service answered; rejects otherwise. `signal` aborts at the round's timeout. */
  check(signal: AbortSignal): Promise<void>;
  /** Releases what the probe holds (its connection). */
  close?(): Promise<void>;
}

/** The last outcome of one probe. */
export interface DependencyStatus {
  readonly up: boolean;
  /** Why it is down. */
  readonly error?: string;
  /** Epoch ms of the last change. */
  readonly since: number;
}

/** What `/readyz` reports. */
export interface ReadinessReport {
  readonly ready: boolean;
  readonly checks: Readonly<Record<string, DependencyStatus>>;
}

/** Options of {@link createHealthMonitor}. */
export interface HealthMonitorOptions {
  readonly probes: readonly HealthProbe[];
  /** Service names with a status besides the overall one (""), e.g. `clone.v1.CommandService`. */
  readonly services: readonly string[];
  /** Time between rounds, ms; default 250. */
  readonly intervalMs?: number;
  /** Budget of one probe, ms; default 500. */
  readonly timeoutMs?: number;
  /** Called when a dependency goes down or comes back. */
  readonly onChange?: (name: string, status: DependencyStatus) => void;
}

/** The serving status of the gateway's services, kept current by probing. */
export interface HealthMonitor {
  /** The names with a status: "" (overall) and the services. */
  readonly services: readonly string[];
  /** Runs a first round (so the status is known), then probes every `intervalMs` until stopped. */
  start(): Promise<void>;
  /** Runs one round now; resolves when every probe answered or timed out. */
  probe(): Promise<void>;
  /** The status of a service ("" for the server as a whole); undefined for a name it does not serve. */
  status(service: string): ServingStatus | undefined;
  readiness(): ReadinessReport;
  /** True once {@link HealthMonitor.stop} was called: every status is NOT_SERVING for good. */
  isStopped(): boolean;
  /** `listener` runs after any status change (and once on stop); returns the unsubscribe function. */
  subscribe(listener: () => void): () => void;
  /** Marks everything NOT_SERVING (the server is going away), stops probing, closes the probes. */
  stop(): Promise<void>;
}

/** Creates a monitor; nothing is probed before {@link HealthMonitor.start} or {@link HealthMonitor.probe}. */
export function createHealthMonitor(options: HealthMonitorOptions): HealthMonitor {
  const intervalMs = options.intervalMs ?? 250;
  const timeoutMs = options.timeoutMs ?? 500;
  const services = ["", ...options.services.filter((s) => s !== "")];
  const checks = new Map<string, DependencyStatus>();
  for (const probe of options.probes) {
    checks.set(probe.name, { up: false, error: "not probed yet", since: Date.now() });
  }
  const inFlight = new Set<string>();
  const listeners = new Set<() => void>();
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let running: Promise<void> | undefined;

  const notify = (): void => {
    for (const listener of [...listeners]) listener();
  };

  const record = (name: string, up: boolean, error?: string): void => {
    if (stopped) return;
    const previous = checks.get(name);
    if (previous?.up === up && (up || previous.error === error)) return;
    const status: DependencyStatus = up
      ? { up, since: Date.now() }
      : { up, error: error ?? "down", since: Date.now() };
    checks.set(name, status);
    try {
      options.onChange?.(name, status);
    } catch {
      // a listener's failure must not stop the probing
    }
    if (previous?.up !== up) notify();
  };

  const runProbe = async (probe: HealthProbe): Promise<void> => {
    if (inFlight.has(probe.name)) return; // still hanging from an earlier round, already marked down
    inFlight.add(probe.name);
    const controller = new AbortController();
    // A check ends when it settles or when it is aborted, whichever comes first: a probe whose work never
    // settles after the abort (pg's connect, once its socket was destroyed mid-handshake) must not keep its
    // name in flight, or the dependency would stay down for good while it answers again.
    const abandoned = new Promise<never>((_, reject) =>
      controller.signal.addEventListener(
        "abort",
        () => reject(new Error(`no answer within ${timeoutMs} ms`)),
        {
          once: true,
        },
      ),
    );
    const check = Promise.race([probe.check(controller.signal), abandoned])
      .then(() => undefined as string | undefined)
      .catch((error: unknown) => describe(error))
      .finally(() => inFlight.delete(probe.name));
    let timeout: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<string>((resolve) => {
      timeout = setTimeout(() => resolve(`no answer within ${timeoutMs} ms`), timeoutMs);
    });
    const error = await Promise.race([check, timedOut]);
    clearTimeout(timeout);
    if (error !== undefined) controller.abort();
    record(probe.name, error === undefined, error);
  };

  const round = (): Promise<void> => {
    running ??= Promise.all(options.probes.map(runProbe)).then(() => {
      running = undefined;
    });
    return running;
  };

  const loop = (): void => {
    timer = setTimeout(() => {
      void round().finally(() => {
        if (!stopped) loop();
      });
    }, intervalMs);
  };

  const allUp = (): boolean => [...checks.values()].every((c) => c.up);

  return {
    services,
    async start() {
      await round();
      if (!stopped && timer === undefined) loop();
    },
    probe: round,
    status(service) {
      if (!services.includes(service)) return undefined;
      return !stopped && allUp() ? ServingStatus.SERVING : ServingStatus.NOT_SERVING;
    },
    readiness() {
      return { ready: !stopped && allUp(), checks: Object.fromEntries(checks) };
    },
    isStopped: () => stopped,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      notify();
      listeners.clear();
      await running?.catch(() => {});
      await Promise.all(options.probes.map((p) => p.close?.().catch(() => {})));
    },
  };
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === "string" && !error.message.includes(code)
      ? `${code}: ${error.message}`
      : error.message;
  }
  return String(error);
}
