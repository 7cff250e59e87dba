export { DigestCache, CACHE_FILE_NAME, type CompressedRecord, type DigestCacheOptions, type VerifiedRecord } from './digest-cache.js';
export { cacheDir, cacheDisabled } from './cache-dir.js';
