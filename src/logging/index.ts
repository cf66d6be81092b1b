export type { Logger } from "./logger";
export { createLogger, logFn, silentLogger } from "./logger";
