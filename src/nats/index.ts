export type { NatsHandles } from "./connect";
export { connectNats, natsServers } from "./connect";
