/**
 * `WWW-Authenticate` parsing (RFC 7235). A header may hold several challenges
 * (`Basic realm="x", Bearer realm="y",service="z"`), parameter values are tokens or quoted
 * strings that may contain commas and escaped quotes (`scope="repository:a:pull,push"`),
 * and several scopes arrive space-separated in one `scope` parameter.
 */

export interface Challenge {
  /** Lower-cased scheme: `bearer`, `basic`, … */
  scheme: string;
  /** Parameters with lower-cased names. */
  params: Record<string, string>;
  /** token68 form (`Negotiate abc==`), when present. */
  token68?: string;
}

const TOKEN_CHAR = /[!#$%&'*+.^_`|~0-9A-Za-z-]/;
const TOKEN68_CHAR = /[0-9A-Za-z._~+/-]/;

/** Parse one or more `WWW-Authenticate` header values into challenges, in order. */
export function parseChallenges(header: string | readonly string[] | undefined): Challenge[] {
  if (header === undefined) return [];
  const values = typeof header === 'string' ? [header] : header;
  const out: Challenge[] = [];
  for (const value of values) out.push(...parseOne(value));
  return out;
}

function parseOne(s: string): Challenge[] {
  let pos = 0;
  const out: Challenge[] = [];
  const peek = (): string => s[pos] ?? '';
  const skipSpace = (): void => {
    while (pos < s.length && (s[pos] === ' ' || s[pos] === '\t')) pos++;
  };
  const read = (re: RegExp): string => {
    const from = pos;
    while (pos < s.length && re.test(s[pos]!)) pos++;
    return s.slice(from, pos);
  };
  const quoted = (): string => {
    pos++; // opening quote
    let v = '';
    while (pos < s.length) {
      const c = s[pos++]!;
      if (c === '\\' && pos < s.length) v += s[pos++];
      else if (c === '"') return v;
      else v += c;
    }
    return v; // unterminated: keep what there is
  };

  while (pos < s.length) {
    while (pos < s.length && /[\s,]/.test(peek())) pos++;
    if (pos >= s.length) break;
    const scheme = read(TOKEN_CHAR);
    if (scheme === '') {
      pos++; // stray character
      continue;
    }
    const challenge: Challenge = { scheme: scheme.toLowerCase(), params: {} };
    out.push(challenge);
    let first = true;
    // the challenge body: token68, or comma-separated name=value pairs
    while (pos < s.length) {
      skipSpace();
      const itemStart = pos;
      const word = read(TOKEN68_CHAR);
      if (word === '') break;
      skipSpace();
      if (peek() === '=') {
        let p = pos + 1;
        while (s[p] === ' ' || s[p] === '\t') p++;
        const next = s[p] ?? '';
        if (next === '"' || (next !== '' && TOKEN_CHAR.test(next))) {
          pos = p;
          // Unquoted values should be tokens; real registries also send bare URLs, so read to the next comma/space.
          challenge.params[word.toLowerCase()] = next === '"' ? quoted() : read(/[^,\s]/);
          first = false;
          skipSpace();
          if (peek() === ',') {
            pos++;
            continue;
          }
          break;
        }
        if (first) {
          // token68 with "=" padding: `Negotiate abc==`
          while (peek() === '=') pos++;
          challenge.token68 = s.slice(itemStart, pos);
          first = false;
          continue;
        }
        break;
      }
      if (first && (pos >= s.length || peek() === ',')) {
        challenge.token68 = word;
        first = false;
        continue;
      }
      // a word not followed by "=": the scheme of the next challenge
      pos = itemStart;
      break;
    }
  }
  return out;
}

/** The first challenge with one of the given schemes (bearer preferred when both). */
export function pickChallenge(challenges: readonly Challenge[]): Challenge | undefined {
  return challenges.find((c) => c.scheme === 'bearer') ?? challenges.find((c) => c.scheme === 'basic');
}

/** Scopes a challenge names (`scope` may hold several, space-separated). */
export function challengeScopes(c: Challenge | undefined): string[] {
  const s = c?.params.scope;
  if (!s) return [];
  return s.split(' ').filter((x) => x !== '');
}
