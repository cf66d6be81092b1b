/**
 * Builds one SQL statement out of data-modifying CTEs, so a command's writes (state, child rows, outbox
 * events, stored result) reach Postgres in ONE round trip. Parameters are numbered as they are added, so
 * the same sequence of calls gives the same text: statements are prepared once per connection, by a name
 * derived from their text.
 */
import { createHash } from "node:crypto";

/** A statement being built. */
export class SqlBuilder {
  readonly params: unknown[] = [];
  private readonly ctes: string[] = [];
  private readonly names = new Set<string>();

  /** Adds a parameter; returns its placeholder (with a cast, when given). */
  param(value: unknown, cast?: string): string {
    this.params.push(value);
    return cast ? `$${this.params.length}::${cast}` : `$${this.params.length}`;
  }

  /** Adds a CTE `name AS (sql)`. */
  cte(name: string, sql: string): void {
    if (this.names.has(name)) throw new Error(`CTE ${name} added twice`);
    this.names.add(name);
    this.ctes.push(`${name} AS (${sql})`);
  }

  /** True when a CTE of that name was added. */
  has(name: string): boolean {
    return this.names.has(name);
  }

  /** The statement: the CTEs, then `select`. */
  build(select: string): { name: string; text: string; values: unknown[] } {
    const text = this.ctes.length === 0 ? select : `WITH ${this.ctes.join(",\n")}\n${select}`;
    return { name: preparedName(text), text, values: this.params };
  }
}

/** Names of the statement texts seen so far: a few shapes per aggregate type, so hashed once each. */
const names = new Map<string, string>();

/** A prepared-statement name for a text (stable, collision-free in practice). */
export function preparedName(text: string): string {
  let name = names.get(text);
  if (name === undefined) {
    name = `s_${createHash("sha1").update(text).digest("hex").slice(0, 16)}`;
    if (names.size < 10_000) names.set(text, name);
  }
  return name;
}
