import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { DriftwatchError, errorMessage } from '../errors.ts';

/**
 * References in a topology document, resolved before it is validated, so that a topology can be
 * committed without its secrets and a Kubernetes Secret can feed it:
 * - `${NAME}` anywhere in a string: the environment variable NAME (`$${` is a literal `${`);
 * - `{ file: path }` in place of a string: the file's text, without its trailing newline;
 * - a relative path (in `{ file: }` and in every key ending in `_file`) is relative to the directory
 *   of the topology file, like docker-compose's.
 * Every problem is reported at once, each with the path in the topology (DW_ERR_CONFIG, exit 2).
 */
export interface ReferenceContext {
  env: Readonly<Record<string, string | undefined>>;
  /** Where relative paths start: the topology file's directory (the working directory otherwise). */
  baseDir: string;
  /** Names the document in errors (the topology file). */
  origin: string;
  readFile?: (path: string) => string;
}

const REFERENCE = /\$\$\{|\$\{([^}]*)\}/g;
const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function resolveReferences(document: unknown, context: ReferenceContext): unknown {
  const problems: string[] = [];
  const readFile = context.readFile ?? ((path: string) => readFileSync(path, 'utf8'));
  const where = (path: readonly (string | number)[]) => `${context.origin}: ${path.length > 0 ? path.join('.') : '(top level)'}`;
  const absolute = (path: string) => (isAbsolute(path) ? path : resolve(context.baseDir, path));

  const substitute = (text: string, path: readonly (string | number)[]): string =>
    text.replace(REFERENCE, (match, name: string | undefined) => {
      if (match === '$${') return '${';
      if (name === undefined || !VARIABLE_NAME.test(name)) {
        problems.push(`${where(path)}: "${match}" is not a variable reference (a name of letters, digits and _; write $\${ for a literal \${)`);
        return match;
      }
      const value = context.env[name];
      if (value === undefined) {
        problems.push(`${where(path)}: environment variable ${name} is not set`);
        return '';
      }
      return value;
    });

  const visit = (value: unknown, path: (string | number)[]): unknown => {
    if (typeof value === 'string') {
      const resolved = substitute(value, path);
      const key = path[path.length - 1];
      return typeof key === 'string' && key.endsWith('_file') && resolved !== '' ? absolute(resolved) : resolved;
    }
    if (Array.isArray(value)) return value.map((item, index) => visit(item, [...path, index]));
    if (typeof value !== 'object' || value === null) return value;
    const entries = Object.entries(value);
    if (entries.length === 1 && entries[0]?.[0] === 'file') {
      const target = entries[0][1];
      if (typeof target !== 'string' || target === '') {
        problems.push(`${where(path)}: { file: ... } expects a path`);
        return value;
      }
      const file = absolute(substitute(target, [...path, 'file']));
      try {
        return readFile(file).replace(/\r?\n$/, '');
      } catch (error) {
        problems.push(`${where(path)}: cannot read secret file ${file}: ${errorMessage(error)}`);
        return '';
      }
    }
    return Object.fromEntries(entries.map(([key, item]) => [key, visit(item, [...path, key])]));
  };

  const resolved = visit(document, []);
  if (problems.length > 0) throw new DriftwatchError('DW_ERR_CONFIG', `cannot resolve the topology's references\n  ${problems.join('\n  ')}`);
  return resolved;
}
