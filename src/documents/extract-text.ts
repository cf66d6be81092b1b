/**
 * Text extraction for the knowledge documents a user uploads: text/plain, text/markdown, application/json.
 * Pure functions; a document that cannot be read gives a reason, recorded as `document.processing_failed`.
 */

/** Extracted text, or why there is none. */
export type Extraction =
  | { readonly ok: true; readonly text: string }
  | { readonly ok: false; readonly reason: string };

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

/**
 * Extracts the readable text of a document. Text that Postgres `text` cannot hold (U+0000, which valid UTF-8
 * and JSON's `\u0000` both allow) fails with a reason, like unreadable bytes.
 */
export function extractText(contentType: string, content: Uint8Array): Extraction {
  const extraction = extractRaw(contentType, content);
  if (extraction.ok && extraction.text.includes("\u0000")) {
    return { ok: false, reason: "the text contains U+0000 (NUL), which cannot be stored as text" };
  }
  return extraction;
}

function extractRaw(contentType: string, content: Uint8Array): Extraction {
  let raw: string;
  try {
    raw = utf8.decode(content);
  } catch {
    return { ok: false, reason: "invalid UTF-8" };
  }
  switch (contentType) {
    case "text/plain":
      return { ok: true, text: raw };
    case "text/markdown":
      return { ok: true, text: markdownToText(raw) };
    case "application/json": {
      let value: unknown;
      try {
        value = JSON.parse(raw);
      } catch (error) {
        return { ok: false, reason: `invalid JSON: ${(error as Error).message}` };
      }
      return { ok: true, text: jsonStrings(value).join("\n") };
    }
    default:
      return { ok: false, reason: `unsupported content type ${contentType}` };
  }
}

/** Markdown without its markup: headings, emphasis, code fences, link and image syntax, list and quote markers. */
export function markdownToText(markdown: string): string {
  return markdown
    .replace(/^```.*$/gmu, "")
    .replace(/!\[([^\]]*)\]\([^)]*\)/gu, "$1")
    .replace(/\[([^\]]*)\]\([^)]*\)/gu, "$1")
    .replace(/^\s{0,3}#{1,6}\s+/gmu, "")
    .replace(/^\s{0,3}>\s?/gmu, "")
    .replace(/^\s*(?:[-*+]|\d+[.)])\s+/gmu, "")
    .replace(/^\s*(?:-{3,}|\*{3,}|_{3,})\s*$/gmu, "")
    .replace(/(\*\*|__|\*|_|~~|`)(\S(?:.*?\S)?)\1/gu, "$2")
    .replace(/<[^>\n]+>/gu, "");
}

/** Every string (object keys too) and number in a JSON value, depth first, in document order. */
export function jsonStrings(value: unknown): string[] {
  const out: string[] = [];
  const visit = (v: unknown): void => {
    if (typeof v === "string") out.push(v);
    else if (typeof v === "number" || typeof v === "boolean") out.push(String(v));
    else if (Array.isArray(v)) v.forEach(visit);
    else if (v !== null && typeof v === "object") {
      for (const [k, child] of Object.entries(v)) {
        out.push(k);
        visit(child);
      }
    }
  };
  visit(value);
  return out;
}
