import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { chunkText } from "./chunk-text";
import { extractText, markdownToText } from "./extract-text";

const enc = (s: string) => new TextEncoder().encode(s);

describe("extractText", () => {
  test("plain text is returned as is", () => {
    expect(extractText("text/plain", enc("héllo wörld"))).toEqual({ ok: true, text: "héllo wörld" });
  });
  test("invalid UTF-8 fails with a reason", () => {
    expect(extractText("text/plain", new Uint8Array([0x68, 0xff, 0xfe]))).toEqual({
      ok: false,
      reason: "invalid UTF-8",
    });
  });
  test("markdown loses its markup", () => {
    const md =
      "# Title\n\nSome **bold** and _it_ text with a [link](http://x).\n\n- item one\n> quote\n```js\ncode()\n```";
    expect(markdownToText(md).split(/\s+/).filter(Boolean)).toEqual([
      "Title",
      "Some",
      "bold",
      "and",
      "it",
      "text",
      "with",
      "a",
      "link.",
      "item",
      "one",
      "quote",
      "code()",
    ]);
  });
  test("JSON gives its keys and values; invalid JSON fails", () => {
    const r = extractText("application/json", enc('{"name":"Ada","tags":["math",1],"ok":true}'));
    expect(r).toEqual({ ok: true, text: "name\nAda\ntags\nmath\n1\nok\ntrue" });
    const bad = extractText("application/json", enc("{nope"));
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.reason).toStartWith("invalid JSON");
  });
});

describe("chunkText", () => {
  test("chunks of N words overlapping by M", () => {
    const text = Array.from({ length: 10 }, (_, i) => `w${i}`).join(" ");
    expect(chunkText(text, { chunkWords: 4, overlapWords: 1 })).toEqual({
      chunks: ["w0 w1 w2 w3", "w3 w4 w5 w6", "w6 w7 w8 w9"],
      wordCount: 10,
    });
  });
  test("empty text has no chunk", () => {
    expect(chunkText("  \n ", { chunkWords: 5, overlapWords: 0 })).toEqual({ chunks: [], wordCount: 0 });
  });
  test("property: every word is in some chunk, in order, and no chunk is longer than N words", () => {
    fc.assert(
      fc.property(
        fc.array(fc.stringMatching(/^[a-z]{1,6}$/), { maxLength: 200 }),
        fc.integer({ min: 1, max: 30 }),
        fc.integer({ min: 0, max: 29 }),
        (words, n, m) => {
          fc.pre(m < n);
          const { chunks, wordCount } = chunkText(words.join(" "), { chunkWords: n, overlapWords: m });
          expect(wordCount).toBe(words.length);
          const split = chunks.map((c) => c.split(" "));
          for (const c of split) expect(c.length).toBeLessThanOrEqual(n);
          // Without the overlaps, the chunks spell the text again.
          const rebuilt = split.flatMap((c, i) => (i === 0 ? c : c.slice(m)));
          expect(rebuilt).toEqual(words);
        },
      ),
    );
  });
});
