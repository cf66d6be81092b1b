export type { NatsHandles } from "./connect";
export { connectNats } from "./connect";
