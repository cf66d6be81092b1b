/** The in-process command transport of the embedded mode. */
export type { InProcessCommandSender, InProcessCommandSenderOptions } from "./command-sender";
export { createInProcessCommandSender } from "./command-sender";
