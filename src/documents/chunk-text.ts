/**
 * Splits text into retrieval chunks on word boundaries: `chunkWords` words each, the next one starting
 * `chunkWords - overlapWords` words later, so a sentence cut by a boundary is still whole in one chunk.
 */
import { ConfigError } from "../errors";

/** Chunking settings (from config: DOCUMENT_CHUNK_WORDS, DOCUMENT_CHUNK_OVERLAP_WORDS). */
export interface ChunkOptions {
  readonly chunkWords: number;
  readonly overlapWords: number;
}

/** The chunks of a text and its word count. */
export interface Chunked {
  readonly chunks: string[];
  readonly wordCount: number;
}

/** Splits `text` into overlapping chunks of whole words. */
export function chunkText(text: string, options: ChunkOptions): Chunked {
  if (options.chunkWords < 1 || options.overlapWords < 0 || options.overlapWords >= options.chunkWords) {
    throw new ConfigError("need chunkWords >= 1 and 0 <= overlapWords < chunkWords");
  }
  const words = text.split(/\s+/u).filter((w) => w !== "");
  const chunks: string[] = [];
  const step = options.chunkWords - options.overlapWords;
  for (let start = 0; start < words.length; start += step) {
    chunks.push(words.slice(start, start + options.chunkWords).join(" "));
    if (start + options.chunkWords >= words.length) break;
  }
  return { chunks, wordCount: words.length };
}
