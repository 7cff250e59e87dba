import { readFile } from 'node:fs/promises';
import { TarpushError } from '../../errors.js';

/**
 * The parts of a docker `config.json` or containers `auth.json` that hold credentials.
 * Both formats share `auths`; docker adds `credHelpers` and `credsStore`, which
 * containers-auth.json(5) accepts too, so one reader serves both.
 */
export interface AuthFile {
  readonly path: string;
  /** Registry key → entry (`auth`, `username`/`password`, `identitytoken`, `registrytoken`). */
  readonly auths: Readonly<Record<string, unknown>>;
  /** Registry key → helper name (`docker-credential-<name>`). */
  readonly credHelpers: Readonly<Record<string, string>>;
  /** Helper used for every registry without a `credHelpers` entry. */
  readonly credsStore?: string;
}

// A helper name becomes part of a program name; a "/" would let a config run any path.
const HELPER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

function invalid(path: string, what: string): TarpushError {
  return new TarpushError('CREDENTIALS_INVALID', `credentials file ${path}: ${what}`, { file: path });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkHelperName(path: string, name: unknown, where: string): string {
  if (typeof name !== 'string' || !HELPER_NAME.test(name)) {
    throw invalid(path, `${where} must be a helper name such as "pass" or "ecr-login" (letters, digits, ".", "_", "-")`);
  }
  return name;
}

/**
 * Read and check an auth file. A missing file gives `undefined` unless `required`
 * (an explicit `--authfile`). Bad JSON or a wrong shape is CREDENTIALS_INVALID naming the
 * file; the message never quotes the file's content (it holds secrets).
 */
export async function readAuthFile(path: string, required: boolean): Promise<AuthFile | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && !required) return undefined;
    if (code === 'ENOENT') throw invalid(path, 'file does not exist');
    throw invalid(path, `cannot be read (${code ?? 'error'})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    // V8's SyntaxError quotes the text around the fault, which may be a password: keep only the position.
    const position = /position (\d+)/.exec(String((e as Error).message))?.[1];
    throw invalid(path, `is not valid JSON${position === undefined ? '' : ` (at position ${position})`}`);
  }
  if (!isObject(json)) throw invalid(path, 'top level must be a JSON object');

  const auths = json.auths ?? {};
  if (!isObject(auths)) throw invalid(path, '"auths" must be an object');
  const rawHelpers = json.credHelpers ?? {};
  if (!isObject(rawHelpers)) throw invalid(path, '"credHelpers" must be an object');
  const credHelpers: Record<string, string> = {};
  for (const [key, name] of Object.entries(rawHelpers)) {
    credHelpers[key] = checkHelperName(path, name, `credHelpers entry ${JSON.stringify(key)}`);
  }
  const file: { path: string; auths: Record<string, unknown>; credHelpers: Record<string, string>; credsStore?: string } = {
    path,
    auths,
    credHelpers,
  };
  if (json.credsStore !== undefined && json.credsStore !== '') file.credsStore = checkHelperName(path, json.credsStore, '"credsStore"');
  return file;
}
