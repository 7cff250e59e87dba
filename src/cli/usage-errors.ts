import { printable } from '../util/printable.js';

/**
 * One line for every usage mistake yargs reports (unknown flag, bad choice, missing
 * argument), and a pointer to our flag for the flags of other tools people type from habit.
 */

/** Flags of skopeo, crane, docker and podman, and what tarpush takes instead. */
const FOREIGN_FLAGS: Record<string, string> = {
  'dest-creds': 'tarpush takes --username USER with --password-stdin or TARPUSH_PASSWORD, or --authfile',
  'src-creds': 'tarpush takes --username USER with --password-stdin or TARPUSH_PASSWORD, or --authfile',
  creds: 'tarpush takes --username USER with --password-stdin or TARPUSH_PASSWORD, or --authfile',
  'tls-verify': 'tarpush takes --insecure (no certificate check), --plain-http (no TLS) or --ca-file FILE',
  'dest-tls-verify': 'tarpush takes --insecure (no certificate check), --plain-http (no TLS) or --ca-file FILE',
  'src-tls-verify': 'tarpush takes --insecure (no certificate check), --plain-http (no TLS) or --ca-file FILE',
  'cert-dir': 'tarpush takes --ca-file FILE',
  'dest-cert-dir': 'tarpush takes --ca-file FILE',
  'src-cert-dir': 'tarpush takes --ca-file FILE',
  'dest-authfile': 'tarpush takes --authfile',
  'src-authfile': 'tarpush takes --authfile',
  'insecure-policy': 'tarpush checks no signature policy: drop the flag',
  p: 'the password comes from --password-stdin or TARPUSH_PASSWORD, never the command line',
  password: 'the password comes from --password-stdin or TARPUSH_PASSWORD, never the command line',
};

const flagName = (name: string): string => (name.length === 1 ? `-${name}` : `--${name}`);

function unknownFlags(list: string): string {
  const names = list.split(',').map((n) => n.trim()).filter(Boolean);
  // yargs lists `dest-creds` and its camel-case twin `destCreds`: keep the spelling typed.
  const kebab = new Set(names.filter((n) => n.includes('-')).map((n) => n.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase())));
  const shown = names.filter((n) => !kebab.has(n));
  return shown
    .map((n) => {
      const hint = FOREIGN_FLAGS[n];
      return `unknown flag ${printable(flagName(n))}${hint ? `: ${hint}` : ''}`;
    })
    .join('; ');
}

/** yargs' message (several lines at times) as one line; `usage` is `tarpush VERB <args>`. */
export function usageErrorLine(message: string, usage: string): string {
  const oneLine = message.replace(/\s*\n\s*/g, ' ').trim();
  let m = /^Unknown arguments?: (.*)$/.exec(oneLine);
  if (m) return `${unknownFlags(m[1]!)}; see ${usage.split(' ').slice(0, 2).join(' ')} --help`;
  m = /^Invalid values?: Argument: (\S+), Given: (.*), Choices: (.*)$/.exec(oneLine);
  if (m) return `--${printable(m[1]!)} ${printable(m[2]!)}: expected one of ${m[3]!.replace(/"/g, '')}`;
  m = /^Not enough non-option arguments: (got \d+, need at least \d+)/.exec(oneLine);
  if (m) return `missing argument (${m[1]}): usage: ${usage}`;
  if (/^Missing required argument/.test(oneLine)) return `missing argument: usage: ${usage}`;
  m = /^Too many non-option arguments/.exec(oneLine);
  if (m) return `too many arguments: usage: ${usage}`;
  return printable(oneLine);
}
