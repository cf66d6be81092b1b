/**
 * Several commands' writes as ONE statement that Postgres can prepare once and reuse.
 *
 * Each command's part is built on its own (see {@link SqlBuilder.scoped} with {@link PART_SCOPE}): its CTE names
 * carry a marker and its placeholders are numbered from `$1`. Its text before renaming is its shape: the same
 * for every command of one kind (a turn on an open conversation, a new user, ...). The parts are put in shape
 * order, then renamed (`c0_`, `c1_`, ...) and renumbered, so a batch's text depends only on how many commands
 * of each shape it holds. Such texts repeat under load, and a text seen before is prepared under a name
 * derived from it, which spares Postgres parsing and planning many CTEs on every commit. A bounded budget, and
 * a bound on the parts of a prepared batch, keep rare combinations unnamed, so a connection's statement cache
 * does not grow without end.
 */
import { preparedName, statementName } from "./sql-builder";

/** The marker standing for a part's CTE prefix until the parts are combined. */
export const PART_SCOPE = "__part__";

/** One command's writes, numbered from `$1`, CTE names prefixed with {@link PART_SCOPE}. */
export interface StatementPart {
  readonly ctes: readonly string[];
  readonly params: readonly unknown[];
  /** The select list this part adds to the statement's result (one row per part; `i` is added here). */
  readonly columns: string;
}

/** A combined statement, and the part each result row's `i` refers to. */
export interface CombinedStatement {
  readonly statement: { name?: string; text: string; values: unknown[] };
  /** `order[i]` is the index (in the given parts) of the part whose result row has `i`. */
  readonly order: readonly number[];
}

/**
 * Sightings of combined texts so far, by statement name (a hash of the text; not the text: most combinations
 * are rare and long): a text is prepared from its second sighting on. Forgotten all at once when full
 * (approximate).
 */
const seen = new Set<string>();
const SEEN_MAX = 5_000;
/** Names of the texts being prepared (bounded by the budget below, never forgotten). */
const prepared = new Set<string>();
/**
 * Characters of combined texts that may be prepared, per thread (this module's state is per worker thread;
 * each connection prepares its own copy).
 */
let preparedBudget = 1_000_000;
/**
 * Batches of more parts are never prepared: Postgres keeps a plan per prepared statement and connection, and
 * the plan of a statement of hundreds of CTEs is large. Such a batch is parsed and planned anew at every
 * commit, which costs Postgres more than its larger commit saves, so the command threads make no larger
 * batches (measured at concurrency 64 on 2 cores: batches of up to 64 commands took 0.39 ms of Postgres CPU
 * per command, a third of them in unprepared statements; batches of up to 16 took 0.30 ms).
 */
export const MAX_PREPARED_PARTS = 16;

/** Combines parts into one statement (a single part keeps its plain names, as a command alone). */
export function combineParts(parts: readonly StatementPart[]): CombinedStatement {
  const shapes = parts.map((p) => `${p.ctes.join(",\n")}\n${p.columns}`);
  const order = parts.map((_, i) => i).sort((a, b) => compare(shapes[a] as string, shapes[b] as string));
  const ctes: string[] = [];
  const selects: string[] = [];
  const values: unknown[] = [];
  order.forEach((index, i) => {
    const part = parts[index] as StatementPart;
    const prefix = parts.length === 1 ? "" : `c${i}_`;
    const offset = values.length;
    const rename = (sql: string) =>
      sql.replaceAll(PART_SCOPE, prefix).replace(/\$(\d+)/g, (_, n: string) => `$${Number(n) + offset}`);
    for (const cte of part.ctes) ctes.push(rename(cte));
    selects.push(`SELECT ${i} AS i, ${rename(part.columns)}`);
    values.push(...part.params);
  });
  const select = selects.join("\nUNION ALL ");
  const text = ctes.length === 0 ? select : `WITH ${ctes.join(",\n")}\n${select}`;
  const statement =
    parts.length > MAX_PREPARED_PARTS ? { text, values } : named(text, values, parts.length === 1);
  return { statement, order };
}

function named(text: string, values: unknown[], always: boolean) {
  if (always) return { name: preparedName(text), text, values };
  const name = statementName(text);
  if (prepared.has(name)) return { name, text, values };
  if (!seen.has(name)) {
    if (seen.size >= SEEN_MAX) seen.clear();
    seen.add(name);
    return { text, values };
  }
  // Second sighting: prepare it from now on, while the budget lasts.
  if (preparedBudget < text.length) return { text, values };
  preparedBudget -= text.length;
  seen.delete(name);
  prepared.add(name);
  return { name, text, values };
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
