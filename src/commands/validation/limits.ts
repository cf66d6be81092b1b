/** The limits command requests are validated against (API.md, plus the bounds it leaves to us). */

/** Longest email address (RFC 5321 path limit). */
export const maxEmailLength = 254;
/** Longest display name, in Unicode code points after trimming. */
export const maxDisplayNameLength = 100;
/** Longest model name, in Unicode code points after trimming. */
export const maxModelNameLength = 100;
/** Longest document title, in Unicode code points after trimming. */
export const maxTitleLength = 300;
/** Longest conversation turn text, in Unicode code points. */
export const maxTurnTextLength = 10_000;
/** Longest failure reason (training or document processing), in Unicode code points. */
export const maxFailureReasonLength = 1_000;
/** Largest document content: 2 MiB. */
export const maxDocumentBytes = 2 * 1024 * 1024;
/** Largest value of a protobuf uint32. */
export const maxUint32 = 0xffff_ffff;
/** A client idempotency key: 1..128 of these characters. */
export const commandIdPattern = /^[A-Za-z0-9._:-]{1,128}$/;
