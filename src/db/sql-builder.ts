/**
 * Builds one SQL statement out of data-modifying CTEs, so a command's writes (state, child rows, outbox
 * events, stored result) reach Postgres in ONE round trip. Parameters are numbered as they are added, so
 * the same sequence of calls gives the same text: statements are prepared once per connection, by a name
 * derived from their text.
 *
 * Several commands' writes can share one statement (group commit in one round trip): each is built in its own
 * {@link SqlBuilder.scoped} builder, whose CTE names carry a prefix (refer to them with {@link SqlBuilder.ref}),
 * and the parts are joined by `combined-statement.ts`.
 */
import { createHash } from "node:crypto";
import type { StatementPart } from "./combined-statement";

interface Shared {
  readonly params: unknown[];
  readonly ctes: string[];
  readonly names: Set<string>;
  /** CTEs that must return exactly one row (see {@link SqlBuilder.expectOne}). */
  readonly expected: string[];
}

/** A statement being built (or one command's scope of it). */
export class SqlBuilder {
  private readonly shared: Shared;
  private readonly prefix: string;

  constructor(shared?: Shared, prefix = "") {
    this.shared = shared ?? { params: [], ctes: [], names: new Set(), expected: [] };
    this.prefix = prefix;
  }

  /** The parameter values, in placeholder order. */
  get params(): readonly unknown[] {
    return this.shared.params;
  }

  /** A view of the same statement whose CTE names start with `prefix` (one per command of a batch). */
  scoped(prefix: string): SqlBuilder {
    return new SqlBuilder(this.shared, this.prefix + prefix);
  }

  /** Adds a parameter; returns its placeholder (with a cast, when given). */
  param(value: unknown, cast?: string): string {
    const params = this.shared.params;
    params.push(value);
    return cast ? `$${params.length}::${cast}` : `$${params.length}`;
  }

  /** Adds a CTE `name AS (sql)` (named with this scope's prefix). */
  cte(name: string, sql: string): void {
    const full = this.ref(name);
    if (this.shared.names.has(full)) throw new Error(`CTE ${full} added twice`);
    this.shared.names.add(full);
    this.shared.ctes.push(`${full} AS (${sql})`);
  }

  /**
   * Marks this scope's CTE `name` (an UPDATE or INSERT ... RETURNING one row per row written) as having to
   * write exactly one row. An UPDATE whose row changed since it was read (a version check), or that another
   * CTE of the same statement already updated (which Postgres skips silently), returns none; the statement's
   * check (`write_expect_one`) then fails all of it.
   */
  expectOne(name: string): void {
    this.shared.expected.push(this.ref(name));
  }

  /** The checks of the CTEs marked with {@link SqlBuilder.expectOne}: an expression worth 1, or failing. */
  expectedRows(): string {
    const expected = this.shared.expected;
    if (expected.length === 0) return "1";
    return expected.map((cte) => `write_expect_one((SELECT count(*) FROM ${cte}))`).join(" * ");
  }

  /** The name to use in SQL for this scope's CTE `name`. */
  ref(name: string): string {
    return this.prefix + name;
  }

  /** True when this scope added a CTE of that name. */
  has(name: string): boolean {
    return this.shared.names.has(this.ref(name));
  }

  /** This builder's CTEs and parameters as one command's part of a combined statement (combined-statement.ts). */
  part(columns: string): StatementPart {
    return { ctes: this.shared.ctes, params: this.shared.params, columns };
  }

  /** The statement: the CTEs, then `select`; named for preparing. */
  build(select: string): { name: string; text: string; values: unknown[] } {
    const ctes = this.shared.ctes;
    const text = ctes.length === 0 ? select : `WITH ${ctes.join(",\n")}\n${select}`;
    return { name: preparedName(text), text, values: this.shared.params };
  }
}

/** Names of the statement texts seen so far: a few shapes per aggregate type, so hashed once each. */
const names = new Map<string, string>();

/** A prepared-statement name for a text (stable, collision-free in practice), hashed once per text. */
export function preparedName(text: string): string {
  let name = names.get(text);
  if (name === undefined) {
    name = statementName(text);
    if (names.size < 10_000) names.set(text, name);
  }
  return name;
}

/** The prepared-statement name of a text, hashed each time (for texts too many or long to remember). */
export function statementName(text: string): string {
  return `s_${createHash("sha1").update(text).digest("hex").slice(0, 16)}`;
}
