export { cacheKey, queryTypeOfKey } from "./cache-key";
export { canonicalJson } from "./canonical-json";
export { createQueryCache } from "./query-cache";
export { estimateSize } from "./size-of";
export type {
  CacheHit,
  LoadOptions,
  LoadResult,
  QueryCache,
  QueryCacheOptions,
  QueryCacheStats,
} from "./types";
