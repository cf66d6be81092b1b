export type { Logger } from "./logger";
export { createLogger, silentLogger } from "./logger";
