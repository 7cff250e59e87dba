/**
 * Typed errors with stable codes. Every failure a user can act on is a TarpushError:
 * `code` is stable (scripts may match on it), `exitCode` is what the CLI exits with,
 * and the message names the file / entry / digest involved. Messages never carry secrets.
 */

/** CLI exit statuses (documented in README). */
export const ExitCode = {
  ok: 0,
  registry: 1,
  input: 2,
  auth: 3,
  /** A bug in tarpush or a library caller's misuse (RangeError, TypeError…): no registry or input is at fault (EX_SOFTWARE). */
  internal: 70,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** Stable error codes, grouped by the exit status they map to. */
const inputCodes = [
  'USAGE',
  'REFERENCE_INVALID',
  'ARCHIVE_UNREADABLE', // cannot open/read the file
  'ARCHIVE_EMPTY',
  'ARCHIVE_NOT_TAR',
  'ARCHIVE_TRUNCATED',
  'ARCHIVE_FORMAT_UNKNOWN', // a tar, but none of the image formats we know
  'ARCHIVE_ENTRY_MISSING',
  'ARCHIVE_ENTRY_UNSAFE', // ../ or absolute name, link escaping the archive
  'ARCHIVE_LINK_LOOP',
  'ARCHIVE_DUPLICATE_ENTRY',
  'ARCHIVE_TOO_LARGE', // decompression bound hit (gzip bomb) or JSON entry over its limit
  'MANIFEST_INVALID', // JSON does not parse or has the wrong shape
  'CONFIG_INVALID',
  'MEDIA_TYPE_UNKNOWN',
  'LAYER_COUNT_MISMATCH',
  'DIGEST_MISMATCH',
  'SIZE_MISMATCH',
  'DIFF_ID_MISMATCH',
  'LAYER_INVALID', // bytes are not what the layer claims: compression magic ≠ media type, not a tar
  'IMAGE_NO_LAYERS',
  'IMAGE_NOT_FOUND', // selection (--image, --platform) matched nothing
  'IMAGE_AMBIGUOUS', // several images and no selection
  'LAYOUT_INVALID', // OCI layout directory / destination problems
] as const;
const registryCodes = [
  'REGISTRY_ERROR', // registry answered with an error status
  'REGISTRY_DIGEST_MISMATCH', // registry reported/served a digest other than ours
  'NETWORK_ERROR',
  'TIMEOUT',
  'NOT_FOUND', // manifest / blob / repo not found
  'UNSUPPORTED', // registry lacks a feature (referrers, delete)
  'TAGS_INCOMPLETE', // the last step: some tags could not be written (details.tags says which are live)
] as const;
const authCodes = ['AUTH_REQUIRED', 'AUTH_DENIED', 'CREDENTIALS_INVALID'] as const;

export type ErrorCode =
  | (typeof inputCodes)[number]
  | (typeof registryCodes)[number]
  | (typeof authCodes)[number];

export function exitCodeFor(code: ErrorCode): ExitCode {
  if ((authCodes as readonly string[]).includes(code)) return ExitCode.auth;
  if ((registryCodes as readonly string[]).includes(code)) return ExitCode.registry;
  return ExitCode.input;
}

export interface ErrorDetails {
  /** archive file or directory the error is about */
  file?: string;
  /** entry inside the archive */
  entry?: string;
  /** digest(s) involved: expected first, actual second */
  expected?: string;
  actual?: string;
  /** HTTP facts for registry errors (never headers with credentials) */
  status?: number;
  method?: string;
  url?: string;
  registryCode?: string;
  [k: string]: unknown;
}

export class TarpushError extends Error {
  readonly code: ErrorCode;
  readonly details: ErrorDetails;
  override readonly name = 'TarpushError';

  constructor(code: ErrorCode, message: string, details: ErrorDetails = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.details = details;
  }

  get exitCode(): ExitCode {
    return exitCodeFor(this.code);
  }

  /** One line for the CLI: `tarpush: CODE: message`. */
  toLine(): string {
    return `${this.code}: ${this.message}`;
  }
}

export function isTarpushError(e: unknown, code?: ErrorCode): e is TarpushError {
  return e instanceof TarpushError && (code === undefined || e.code === code);
}

/**
 * Bytes a caller handed to a sink (a ByteSource, a stream producer) failed to read. The
 * source's own TarpushError passes through; an untyped failure is the input's
 * (ARCHIVE_UNREADABLE, exit 2, naming `where`), so the network layers never word it as
 * theirs nor take its errno for a connection failure worth a retry.
 */
export function sourceReadError(err: unknown, where: string, details: ErrorDetails = {}): TarpushError {
  if (err instanceof TarpushError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new TarpushError('ARCHIVE_UNREADABLE', `${where}: ${message}`, details, { cause: err });
}
