/**
 * Several commands' writes as ONE statement that Postgres can prepare once and reuse.
 *
 * Each command's part is built on its own (see {@link SqlBuilder.scoped} with {@link PART_SCOPE}): its CTE names
 * carry a marker and its placeholders are numbered from `$1`. Its text before renaming is its shape: the same
 * for every command of one kind (a turn on an open conversation, a new user, ...). The parts are put in shape
 * order (the order in which the thread first saw each shape), then renamed (`c0_`, `c1_`, ...) and renumbered,
 * so a batch's text depends only on how many commands of each shape it holds. Such texts repeat under load,
 * and a text seen before is prepared under a name derived from it, which spares Postgres parsing and planning
 * many CTEs on every commit. A bounded budget, and a bound on the parts of a prepared batch, keep rare
 * combinations unnamed, so a connection's statement cache does not grow without end.
 */
import { statementName } from "./sql-builder";

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

/** A combination of shapes, joined and named once: its text and its prepared-statement name. */
interface Combination {
  readonly text: string;
  readonly name: string;
}

/**
 * Shapes seen so far, numbered in the order they were first seen (a thread's own numbering: the texts need to
 * repeat only on this thread's connections), and the combinations of them built so far, by their shapes'
 * numbers in order. Renaming and numbering a batch's parts (a regular-expression pass over every part) and
 * hashing its text cost more than the rest of building the batch; a combination repeats under load, so it is
 * built once. Both maps are forgotten all at once when full.
 */
const shapeIds = new Map<string, number>();
const combinations = new Map<string, Combination>();
const REMEMBERED_MAX = 5_000;

function shapeId(shape: string): number {
  let id = shapeIds.get(shape);
  if (id === undefined) {
    if (shapeIds.size >= REMEMBERED_MAX) {
      shapeIds.clear();
      combinations.clear();
    }
    id = shapeIds.size;
    shapeIds.set(shape, id);
  }
  return id;
}

/** Combines parts into one statement (a single part keeps its plain names, as a command alone). */
export function combineParts(parts: readonly StatementPart[]): CombinedStatement {
  const ids = parts.map((p) => shapeId(`${p.ctes.join(",\n")}\n${p.columns}`));
  const order = parts.map((_, i) => i).sort((a, b) => (ids[a] as number) - (ids[b] as number));
  const key = order.map((i) => ids[i]).join(",");
  let combination = combinations.get(key);
  if (combination === undefined) {
    combination = combine(order.map((i) => parts[i] as StatementPart));
    if (combinations.size >= REMEMBERED_MAX) combinations.clear();
    combinations.set(key, combination);
  }
  const values: unknown[] = [];
  for (const i of order) values.push(...(parts[i] as StatementPart).params);
  const { text } = combination;
  const statement =
    parts.length > MAX_PREPARED_PARTS ? { text, values } : named(combination, values, parts.length === 1);
  return { statement, order };
}

/** The text of parts in the order given: each part's CTEs prefixed (`c0_`, ...) and placeholders renumbered. */
function combine(parts: readonly StatementPart[]): Combination {
  const ctes: string[] = [];
  const selects: string[] = [];
  let offset = 0;
  parts.forEach((part, i) => {
    const prefix = parts.length === 1 ? "" : `c${i}_`;
    const shift = offset;
    const rename = (sql: string) =>
      sql.replaceAll(PART_SCOPE, prefix).replace(/\$(\d+)/g, (_, n: string) => `$${Number(n) + shift}`);
    for (const cte of part.ctes) ctes.push(rename(cte));
    selects.push(`SELECT ${i} AS i, ${rename(part.columns)}`);
    offset += part.params.length;
  });
  const select = selects.join("\nUNION ALL ");
  const text = ctes.length === 0 ? select : `WITH ${ctes.join(",\n")}\n${select}`;
  return { text, name: statementName(text) };
}

function named({ text, name }: Combination, values: unknown[], always: boolean) {
  if (always) return { name, text, values };
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
