/** ListDocuments (keyset pages, newest first) and SearchDocuments (Postgres full-text search over chunks). */
import { z } from "zod";
import { codePoints } from "../../commands/validation";
import { DocumentStatus } from "../../gen/clone/v1/enums_pb";
import { documentSummaryColumns } from "../../read-models";
import { pageSize } from "../pagination";
import type { QueryDefinition } from "../query-bus";
import {
  clientFor,
  named,
  num,
  pageAfter,
  parseRequest,
  type QueryDeps,
  requireOwnUser,
  ts,
  uuidField,
} from "./common";

const statusNames: Record<number, string | null> = {
  [DocumentStatus.UNSPECIFIED]: null,
  [DocumentStatus.UPLOADED]: "UPLOADED",
  [DocumentStatus.PROCESSED]: "PROCESSED",
  [DocumentStatus.FAILED]: "FAILED",
};
const statusValues: Record<string, DocumentStatus> = {
  UPLOADED: DocumentStatus.UPLOADED,
  PROCESSED: DocumentStatus.PROCESSED,
  FAILED: DocumentStatus.FAILED,
};

const listSchema = z.object({
  userId: uuidField,
  status: z.number().refine((s) => s in statusNames, "is not a DocumentStatus"),
  pageSize: z.number(),
  pageToken: z.string(),
});

interface ListParams {
  readonly userId: string;
  readonly status: string | null;
  readonly pageSize: number;
  readonly after: readonly (string | number)[] | null;
}

/** ListDocuments from document_summary_view, `(uploaded_at, document_id)` descending, keyset pagination. */
export function listDocuments(deps: QueryDeps): QueryDefinition<ListParams> {
  return {
    queryType: "ListDocuments",
    parse(request) {
      const r = parseRequest(listSchema, request);
      const status = statusNames[r.status] ?? null;
      return {
        userId: r.userId,
        status,
        pageSize: pageSize(r.pageSize),
        after: pageAfter(deps, r.pageToken, "ListDocuments", { userId: r.userId, status }),
      };
    },
    authorize: (actor, p) => requireOwnUser(actor, p.userId),
    async load(p, source) {
      const res = await named(
        clientFor(deps, source),
        "list_documents",
        source,
      )(
        `SELECT ${documentSummaryColumns}, uploaded_at::text AS uploaded_at_key FROM ${source.relation("document_summary_view")}
          WHERE user_id = $1 AND ($2::text IS NULL OR status = $2)
            AND ($3::timestamptz IS NULL OR (uploaded_at, document_id) < ($3::timestamptz, $4::uuid))
          ORDER BY uploaded_at DESC, document_id DESC
          LIMIT $5`,
        [p.userId, p.status, p.after?.[0] ?? null, p.after?.[1] ?? null, p.pageSize + 1],
      );
      const rows = res.rows.slice(0, p.pageSize);
      const last = rows.at(-1);
      return {
        documents: rows.map((r) => ({
          documentId: r.document_id,
          userId: r.user_id,
          title: r.title,
          contentType: r.content_type,
          status: statusValues[r.status] ?? DocumentStatus.UNSPECIFIED,
          sizeBytes: num(r.size_bytes),
          wordCount: num(r.word_count),
          chunkCount: num(r.chunk_count),
          failureReason: r.failure_reason ?? "",
          uploadedAt: ts(r.uploaded_at),
          processedAt: ts(r.processed_at),
        })),
        nextPageToken:
          res.rows.length > p.pageSize && last
            ? deps.pageTokens.encode("ListDocuments", { userId: p.userId, status: p.status }, [
                last.uploaded_at_key,
                last.document_id,
              ])
            : "",
      };
    },
  };
}

const searchSchema = z.object({
  userId: uuidField,
  query: z
    .string()
    .refine((q) => q.trim() !== "", "is required")
    .refine((q) => codePoints(q) <= 1000, "must be at most 1000 characters"),
  pageSize: z.number(),
});

interface SearchParams {
  readonly userId: string;
  readonly query: string;
  readonly pageSize: number;
}

/**
 * SearchDocuments: ranks the chunks of the user's processed documents with Postgres full-text search
 * (`websearch_to_tsquery`, `ts_rank`), one hit per document (its best chunk), with a highlighted snippet.
 */
export function searchDocuments(deps: QueryDeps): QueryDefinition<SearchParams> {
  return {
    queryType: "SearchDocuments",
    parse(request) {
      const r = parseRequest(searchSchema, request);
      return { userId: r.userId, query: r.query.trim(), pageSize: pageSize(r.pageSize) };
    },
    authorize: (actor, p) => requireOwnUser(actor, p.userId),
    async load(p, source) {
      const documents = source.relation("document_summary_view");
      const res = await named(
        clientFor(deps, source),
        "search_documents",
        source,
      )(
        `WITH q AS (SELECT websearch_to_tsquery('english', $2) AS query),
              best AS (
                SELECT DISTINCT ON (c.document_id) c.document_id, c.content, ts_rank(c.tsv, q.query) AS rank
                  FROM ${documents} d
                  JOIN document_chunks c ON c.document_id = d.document_id
                  CROSS JOIN q
                 WHERE d.user_id = $1 AND c.tsv @@ q.query
                 ORDER BY c.document_id, rank DESC, c.chunk_index)
         SELECT b.document_id, d.title, b.rank,
                ts_headline('english', b.content, q.query, 'MaxFragments=1, MaxWords=30, MinWords=8') AS snippet
           FROM best b JOIN ${documents} d ON d.document_id = b.document_id CROSS JOIN q
          ORDER BY b.rank DESC, b.document_id
          LIMIT $3`,
        [p.userId, p.query, p.pageSize],
      );
      return {
        hits: res.rows.map((r) => ({
          documentId: r.document_id,
          title: r.title,
          snippet: r.snippet,
          rank: Number(r.rank),
        })),
      };
    },
  };
}
