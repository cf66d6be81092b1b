import { describe, expect, test } from "bun:test";
import { loadConfig } from "../config";

describe("tracing configuration (the standard OTEL_* variables)", () => {
  test("off when nothing is set, or when switched off", () => {
    expect(loadConfig({}).tracing).toBeUndefined();
    expect(
      loadConfig({ OTEL_TRACES_EXPORTER: "none", OTEL_EXPORTER_OTLP_ENDPOINT: "http://j:4318" }).tracing,
    ).toBeUndefined();
    expect(loadConfig({ OTEL_SDK_DISABLED: "true", OTEL_TRACES_EXPORTER: "otlp" }).tracing).toBeUndefined();
  });

  test("an OTLP endpoint turns it on; the traces path is added to the base endpoint only", () => {
    expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://jaeger:4318/" }).tracing).toEqual({
      exporter: "otlp",
      tracesUrl: "http://jaeger:4318/v1/traces",
      headers: {},
      serviceName: "",
      scheduleDelayMs: 5_000,
      sampleRatio: 1,
    });
    const t = loadConfig({
      OTEL_EXPORTER_OTLP_ENDPOINT: "http://jaeger:4318",
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://tempo:4318/custom",
      OTEL_EXPORTER_OTLP_HEADERS: "authorization=Bearer%20abc, x-tenant=a",
      OTEL_EXPORTER_OTLP_TRACES_HEADERS: "x-tenant=b",
      OTEL_SERVICE_NAME: "clone-gw-1",
      OTEL_BSP_SCHEDULE_DELAY: "100",
      OTEL_TRACES_SAMPLER_ARG: "0.25",
    }).tracing;
    expect(t?.tracesUrl).toBe("http://tempo:4318/custom");
    expect(t?.headers).toEqual({ authorization: "Bearer abc", "x-tenant": "b" });
    expect(t?.serviceName).toBe("clone-gw-1");
    expect(t?.scheduleDelayMs).toBe(100);
    expect(t?.sampleRatio).toBe(0.25);
  });

  test("OTEL_TRACES_EXPORTER=otlp alone uses the OTLP default endpoint; console prints spans", () => {
    expect(loadConfig({ OTEL_TRACES_EXPORTER: "otlp" }).tracing?.tracesUrl).toBe(
      "http://localhost:4318/v1/traces",
    );
    expect(loadConfig({ OTEL_TRACES_EXPORTER: "console" }).tracing?.exporter).toBe("console");
  });

  test("bad values name the variable", () => {
    expect(() => loadConfig({ OTEL_TRACES_EXPORTER: "zipkin" })).toThrow(/OTEL_TRACES_EXPORTER/);
    expect(() => loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: "not a url" })).toThrow(
      /OTEL_EXPORTER_OTLP_ENDPOINT/,
    );
    expect(() => loadConfig({ OTEL_TRACES_SAMPLER_ARG: "2" })).toThrow(/OTEL_TRACES_SAMPLER_ARG/);
  });
});
