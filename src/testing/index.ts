export type { LeadersWatch } from "./cluster-leaders";
export { leadersOf, waitUntilCurrent, watchLeadersBack } from "./cluster-leaders";
export { embeddedTestConfig } from "./embedded-config";
export type { Caller, FuzzCase } from "./fuzz-requests";
export { fuzzCase, fuzzedMethods } from "./fuzz-requests";
export type { CallerTokens, FuzzCounts } from "./fuzz-run";
export { answerProblem, rssOf, runFuzzCases } from "./fuzz-run";
export type { TestNats, TestNatsOptions } from "./nats";
export { createTestNats, ownsStream } from "./nats";
export type { OtlpReceiver, ReceivedSpan } from "./otlp-receiver";
export { startOtlpReceiver } from "./otlp-receiver";
export type { PoisonScenarioResult } from "./poisoned-documents";
export {
  cpuSecondsOf,
  expectPoisonOutcome,
  poisonedDocuments,
  runPoisonScenario,
  twoMiBText,
} from "./poisoned-documents";
export type { TestDatabase, TestDatabaseOptions } from "./postgres";
export { createTestDatabase } from "./postgres";
export type {
  PostgresStopMode,
  PrivateNats,
  PrivateNatsCluster,
  PrivatePostgres,
  TcpProxy,
} from "./private-servers";
export {
  freePort,
  startPrivateNats,
  startPrivateNatsCluster,
  startPrivatePostgres,
  startPrivateReplica,
  startTcpProxy,
  waitForPort,
} from "./private-servers";
export type { PrivateStack, PrivateStackOptions } from "./private-stack";
export { createPrivateStack } from "./private-stack";
export type { RoleProcess, StartRoleOptions } from "./processes";
export { gatewayReady, RUNTIME_ENV, startRole, workerReady } from "./processes";
export type { RawAnswer, RawCallOptions, RawRpc, Wire } from "./raw-rpc";
export { createRawRpc, encodeFor, wires } from "./raw-rpc";
export type { RealService } from "./require-service";
export { redactUrl, requireService, ServiceUnavailableError } from "./require-service";
export type { StackRole, TestStack } from "./stack";
export { createTestStack, roleReady } from "./stack";
