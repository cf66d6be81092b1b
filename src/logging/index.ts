export type { Logger } from "./logger";
export { createLogger, logFn } from "./logger";
