export { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, pageSize } from "./page-size";
export type { KeysetValue, PageTokens } from "./page-tokens";
export { createPageTokens } from "./page-tokens";
