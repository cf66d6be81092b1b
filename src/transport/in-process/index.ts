/** The in-process command transport of the embedded mode. */
export type { CommandRunner, InProcessCommandSender, InProcessCommandSenderOptions } from "./command-sender";
export { createInProcessCommandSender } from "./command-sender";
