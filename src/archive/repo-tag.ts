import { normaliseName } from '../reference/index.js';

/**
 * Docker's normalised form of a repo tag, used to match names written in different ways
 * (`alpine:3`, `library/alpine:3`, `docker.io/library/alpine:3` are one image). The rule
 * lives in reference/ (normaliseName): one reading of Docker names for the whole program.
 */
export const normaliseRepoTag = normaliseName;

/** Whether two repo tags name the same image tag. */
export const sameRepoTag = (a: string, b: string): boolean => a === b || normaliseRepoTag(a) === normaliseRepoTag(b);
