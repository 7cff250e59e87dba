/**
 * bcrypt for htpasswd files (test code only).
 *
 * distribution's htpasswd auth accepts bcrypt hashes only, and neither `htpasswd`
 * (apache2-utils) nor an openssl subcommand that makes bcrypt is guaranteed on the machine,
 * so the harness hashes passwords itself. Written from the published algorithm (Provos &
 * Mazières, "A Future-Adaptable Password Scheme", 1999, and the OpenBSD `$2b$` rules):
 * EksBlowfish key setup, then "OrpheanBeholderScryDoubt" encrypted 64 times.
 * Blowfish's initial P-array and S-boxes are the hexadecimal digits of π, computed here
 * with Machin's formula instead of pasting 1042 constants.
 */
import { randomBytes } from 'node:crypto';

const P_WORDS = 18;
const S_WORDS = 4 * 256;
const BCRYPT_ALPHABET = './ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const MAGIC = 'OrpheanBeholderScryDoubt';

/** π's fractional hex digits as 32-bit words, in Blowfish order: P[0..17], then S0..S3. */
let piWordsCache: Uint32Array | undefined;
function piWords(): Uint32Array {
  if (piWordsCache) return piWordsCache;
  const words = P_WORDS + S_WORDS;
  const bits = BigInt(words * 32 + 64); // 64 guard bits absorb the truncation error of the series
  const one = 1n << bits;
  // arctan(1/x) = Σ (-1)^k / ((2k+1)·x^(2k+1)), in fixed point with `bits` fractional bits.
  const arctanInverse = (x: bigint): bigint => {
    let power = one / x; // 1/x^(2k+1)
    const xSquared = x * x;
    let sum = 0n;
    for (let k = 0n; power !== 0n; k++) {
      const term = power / (2n * k + 1n);
      sum = k % 2n === 0n ? sum + term : sum - term;
      power /= xSquared;
    }
    return sum;
  };
  const pi = 16n * arctanInverse(5n) - 4n * arctanInverse(239n);
  const fraction = (pi - 3n * one) >> 64n; // drop the integer part and the guard bits
  const out = new Uint32Array(words);
  for (let i = 0; i < words; i++) {
    out[i] = Number((fraction >> BigInt((words - 1 - i) * 32)) & 0xffffffffn);
  }
  piWordsCache = out;
  return out;
}

class Blowfish {
  readonly p: Uint32Array;
  readonly s: Uint32Array;
  private readonly block = new Uint32Array(2);

  constructor() {
    const init = piWords();
    this.p = init.slice(0, P_WORDS);
    this.s = init.slice(P_WORDS);
  }

  private f(x: number): number {
    const s = this.s;
    const a = s[x >>> 24]!;
    const b = s[256 + ((x >>> 16) & 0xff)]!;
    const c = s[512 + ((x >>> 8) & 0xff)]!;
    const d = s[768 + (x & 0xff)]!;
    return ((((a + b) >>> 0) ^ c) + d) >>> 0;
  }

  /** Encrypts the 64-bit block (l, r) in place in `this.block`. */
  encrypt(l: number, r: number): Uint32Array {
    const p = this.p;
    for (let i = 0; i < 16; i++) {
      l = (l ^ p[i]!) >>> 0;
      r = (r ^ this.f(l)) >>> 0;
      const t = l;
      l = r;
      r = t;
    }
    const t = l;
    l = (r ^ p[17]!) >>> 0;
    r = (t ^ p[16]!) >>> 0;
    this.block[0] = l;
    this.block[1] = r;
    return this.block;
  }

  /** Blowfish key schedule, mixing `salt` (cyclic) into the data when given: EksBlowfish's ExpandKey. */
  expand(key: Uint8Array, salt?: Uint8Array): void {
    const keyCursor = { at: 0 };
    for (let i = 0; i < P_WORDS; i++) this.p[i] = (this.p[i]! ^ streamWord(key, keyCursor)) >>> 0;
    const saltCursor = { at: 0 };
    let l = 0;
    let r = 0;
    const fill = (target: Uint32Array, count: number): void => {
      for (let i = 0; i < count; i += 2) {
        if (salt) {
          l = (l ^ streamWord(salt, saltCursor)) >>> 0;
          r = (r ^ streamWord(salt, saltCursor)) >>> 0;
        }
        const block = this.encrypt(l, r);
        l = block[0]!;
        r = block[1]!;
        target[i] = l;
        target[i + 1] = r;
      }
    };
    fill(this.p, P_WORDS);
    fill(this.s, S_WORDS);
  }
}

/** Next big-endian 32-bit word of `data`, wrapping around its end. */
function streamWord(data: Uint8Array, cursor: { at: number }): number {
  let word = 0;
  for (let i = 0; i < 4; i++) {
    word = ((word << 8) | data[cursor.at]!) >>> 0;
    cursor.at = (cursor.at + 1) % data.length;
  }
  return word;
}

function encode(bytes: Uint8Array, chars: number): string {
  let out = '';
  let acc = 0;
  let accBits = 0;
  for (const byte of bytes) {
    acc = (acc << 8) | byte;
    accBits += 8;
    while (accBits >= 6) {
      accBits -= 6;
      out += BCRYPT_ALPHABET[(acc >>> accBits) & 0x3f];
    }
    acc &= (1 << accBits) - 1;
  }
  if (accBits > 0) out += BCRYPT_ALPHABET[(acc << (6 - accBits)) & 0x3f];
  return out.slice(0, chars);
}

function decode(text: string, bytes: number): Uint8Array {
  const out = new Uint8Array(bytes);
  let acc = 0;
  let accBits = 0;
  let n = 0;
  for (const ch of text) {
    const value = BCRYPT_ALPHABET.indexOf(ch);
    if (value < 0) throw new Error(`bcrypt: invalid character ${JSON.stringify(ch)} in salt`);
    acc = ((acc << 6) | value) & 0xffff;
    accBits += 6;
    if (accBits >= 8) {
      accBits -= 8;
      if (n < bytes) out[n++] = (acc >>> accBits) & 0xff;
    }
  }
  return out;
}

export type BcryptVariant = '2a' | '2b' | '2y';

/** bcrypt of `password` (UTF-8; bytes after the 72nd are ignored, as everywhere). */
export function bcryptHash(
  password: string,
  opts: { cost?: number; salt?: Uint8Array; variant?: BcryptVariant } = {},
): string {
  const cost = opts.cost ?? 5;
  if (!Number.isInteger(cost) || cost < 4 || cost > 31) throw new Error(`bcrypt: cost ${cost} outside 4..31`);
  const salt = opts.salt ?? randomBytes(16);
  if (salt.length !== 16) throw new Error('bcrypt: salt must be 16 bytes');
  const variant = opts.variant ?? '2y';
  const utf8 = Buffer.from(password, 'utf8');
  // $2b$ rule: at most 72 password bytes, then the C string terminator. Only 72 key bytes
  // ever reach the P-array, so a 72-byte password loses its NUL and longer ones are cut.
  const key = new Uint8Array(Math.min(utf8.length, 72) + 1);
  key.set(utf8.subarray(0, key.length - 1));

  const bf = new Blowfish();
  bf.expand(key, salt);
  for (let i = 0, rounds = 2 ** cost; i < rounds; i++) {
    bf.expand(key);
    bf.expand(salt);
  }
  const words = new Uint32Array(6);
  for (let i = 0; i < 6; i++) words[i] = streamWord(Buffer.from(MAGIC, 'latin1'), { at: i * 4 });
  for (let round = 0; round < 64; round++) {
    for (let i = 0; i < 6; i += 2) {
      const block = bf.encrypt(words[i]!, words[i + 1]!);
      words[i] = block[0]!;
      words[i + 1] = block[1]!;
    }
  }
  const digest = new Uint8Array(24);
  for (let i = 0; i < 6; i++) new DataView(digest.buffer).setUint32(i * 4, words[i]!);
  const costText = String(cost).padStart(2, '0');
  return `$${variant}$${costText}$${encode(salt, 22)}${encode(digest.subarray(0, 23), 31)}`;
}

/** Re-hashes `password` with the cost and salt of `hash` and compares. */
export function bcryptVerify(password: string, hash: string): boolean {
  const m = /^\$(2[aby])\$(\d\d)\$([./A-Za-z0-9]{22})[./A-Za-z0-9]{31}$/.exec(hash);
  if (!m) return false;
  const again = bcryptHash(password, {
    variant: m[1] as BcryptVariant,
    cost: Number(m[2]),
    salt: decode(m[3]!, 16),
  });
  return again === hash;
}

/** Decodes a 22-character bcrypt salt (exported for tests that replay known vectors). */
export function decodeBcryptSalt(text: string): Uint8Array {
  if (text.length !== 22) throw new Error('bcrypt: salt text must be 22 characters');
  return decode(text, 16);
}

/** One line of an htpasswd file: `user:$2y$05$…` (cost 5 keeps the registry's per-request check cheap). */
export function htpasswdLine(username: string, password: string, cost = 5): string {
  if (username.includes(':') || /\s/.test(username)) throw new Error('htpasswd: user name may not contain ":" or spaces');
  return `${username}:${bcryptHash(password, { cost })}`;
}
