// The input and output side shared by the commands that read one JSON case (`npm run factors`,
// `npm run curvature`, docs/curvature-tools.md §0): the case-field help lines, reading the case from
// a file or stdin, and the exit codes (2 unusable input, naming the file and the field; 1 failure
// while computing).
import { readFileSync, writeSync } from 'node:fs';
import { CaseError, type FieldDoc } from '../engine/tools/case.ts';

/** One help line per field: name, what it is, and its default or "(required)". */
export function fieldLines(fields: Readonly<Record<string, FieldDoc>>): string {
  return Object.entries(fields)
    .map(([name, f]) => `  ${name.padEnd(10)} ${f.about}${f.default === undefined ? ' (required)' : ` (default: ${f.default})`}`)
    .join('\n');
}

/** Prints a message on stderr and exits with `code`; declare it with this type so TypeScript narrows after a call. */
export type Fail = (message: string, code: number) => never;

/** A `fail` that prints `<command>: <message>` on stderr and exits with `code`. */
export function failWith(command: string): Fail {
  return (message, code) => {
    writeSync(2, `${command}: ${message}\n`);
    process.exit(code);
  };
}

/** Writes to stdout and resolves once it has drained, so a piped stdout survives a later process.exit. */
export function writeStdout(text: string): Promise<void> {
  return new Promise<void>((resolve, reject) => process.stdout.write(text, (e) => (e ? reject(e) : resolve())));
}

/** The JSON of `source` (a path, or "-" for stdin); an unreadable file or invalid JSON exits 2. */
export function readJsonCase(source: string, fail: Fail): unknown {
  let text: string;
  try {
    text = readFileSync(source === '-' ? 0 : source, 'utf8');
  } catch (e) {
    fail(`cannot read ${source}: ${(e as Error).message}`, 2);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    fail(`${source}: not valid JSON: ${(e as Error).message}`, 2);
  }
}

/** `use()`'s result; a CaseError (a bad field of the case) exits 2 with the file and the message. */
export async function withCaseErrors<T>(source: string, fail: Fail, use: () => T | Promise<T>): Promise<T> {
  try {
    return await use();
  } catch (e) {
    if (e instanceof CaseError) fail(`${source}: ${e.message}`, 2);
    throw e;
  }
}
