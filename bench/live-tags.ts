/**
 * How the live section (live-delivery.ts) and its observer (live-observer.ts) recognise the speaker's turns:
 * the turn's number at the end of its text, and in its command id.
 */

/** Precedes the turn's number at the end of the text. */
export const LIVE_TAG = "live#";

const ID_MARK = "live:";

/** A command id that carries turn `n`: `live:<n>:<uuid>`. */
export function liveCommandId(n: number): string {
  return `${ID_MARK}${n}:${crypto.randomUUID()}`;
}

/** The turn number a command id of {@link liveCommandId} carries; undefined for any other id. */
export function liveTurnOf(commandId: string | undefined): number | undefined {
  if (commandId === undefined || !commandId.startsWith(ID_MARK)) return undefined;
  const n = Number.parseInt(commandId.slice(ID_MARK.length), 10);
  return Number.isNaN(n) ? undefined : n;
}

/** The turn number at the end of a turn's text; undefined when it has none. */
export function liveTurnOfText(text: string): number | undefined {
  const at = text.lastIndexOf(LIVE_TAG);
  if (at < 0) return undefined;
  const n = Number(text.slice(at + LIVE_TAG.length));
  return Number.isInteger(n) ? n : undefined;
}
