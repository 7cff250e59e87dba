export { DigestCache, CACHE_FILE_NAME, type DigestCacheOptions, type VerifiedRecord } from './digest-cache.js';
export { cacheDir, cacheDisabled } from './cache-dir.js';
