/** The embedded mode: every role in one process on PGlite and in-process buses. */
export type { EmbeddedDatabase, EmbeddedDatabaseOptions } from "./database";
export { startEmbeddedDatabase } from "./database";
export type { DrainTargets } from "./drain";
export { drainEmbedded } from "./drain";
export { embeddedBanner, embeddedRoleError, requireBothUrls, startEmbeddedRole } from "./process";
export type { RunningEmbedded } from "./start";
export { startEmbedded } from "./start";
