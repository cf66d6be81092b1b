export type { TestNats, TestNatsOptions } from "./nats";
export { createTestNats, ownsStream } from "./nats";
export type { TestDatabase, TestDatabaseOptions } from "./postgres";
export { createTestDatabase } from "./postgres";
export type { PostgresStopMode, PrivateNats, PrivatePostgres, TcpProxy } from "./private-servers";
export {
  freePort,
  startPrivateNats,
  startPrivatePostgres,
  startTcpProxy,
  waitForPort,
} from "./private-servers";
export type { RoleProcess, StartRoleOptions } from "./processes";
export { gatewayReady, startRole, workerReady } from "./processes";
export type { RealService } from "./require-service";
export { redactUrl, requireService, ServiceUnavailableError } from "./require-service";
export type { StackRole, TestStack } from "./stack";
export { createTestStack, roleReady } from "./stack";
