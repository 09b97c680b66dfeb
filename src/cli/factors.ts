// `npm run factors -- case.json` (or `-` for stdin): the K-FAC factors of a small model given layer
// by layer, as JSON on stdout, for cross-checks against other K-FAC implementations. The case
// format is in src/engine/tools/case.ts. Exit codes: 0 success, 2 unusable case (the message names the
// field), 1 failure while computing.
import { readFileSync, writeSync } from 'node:fs';
import { CASE_FIELDS, CaseError, computeCaseFactors, openCaseBackend, parseFactorsCase } from '../engine/tools/case.ts';
import { formatCaseFactors } from './factors-case.ts';

const USAGE = `usage: npm run factors -- <case.json | ->

Prints {"layers": [{"index", "A", "G"}, ...]}: the K-FAC factors of every linear layer, in order
(index = position in "layers"). Case fields:
${Object.entries(CASE_FIELDS)
  .map(([name, f]) => `  ${name.padEnd(10)} ${f.about}${f.default === undefined ? ' (required)' : ` (default: ${f.default})`}`)
  .join('\n')}`;

function fail(message: string, code: number): never {
  writeSync(2, `factors: ${message}\n`);
  process.exit(code);
}

async function main(args: string[]): Promise<void> {
  if (args[0] === '--help' || args[0] === '-h') {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (args.length !== 1) fail(`expected one case file\n\n${USAGE}`, 2);
  const source = args[0];
  let text: string;
  try {
    text = readFileSync(source === '-' ? 0 : source, 'utf8');
  } catch (e) {
    fail(`cannot read ${source}: ${(e as Error).message}`, 2);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    fail(`${source}: not valid JSON: ${(e as Error).message}`, 2);
  }
  let parsed;
  try {
    parsed = parseFactorsCase(json);
  } catch (e) {
    if (e instanceof CaseError) fail(`${source}: ${e.message}`, 2);
    throw e;
  }
  const backend = await openCaseBackend(parsed);
  try {
    const output = formatCaseFactors(await computeCaseFactors(parsed, backend));
    // Let a piped stdout drain before the process.exit below (pipes are asynchronous on some systems).
    await new Promise<void>((resolve, reject) => process.stdout.write(output, (e) => (e ? reject(e) : resolve())));
  } finally {
    backend.destroy();
  }
}

try {
  await main(process.argv.slice(2));
} catch (e) {
  fail((e as Error).stack ?? String(e), 1);
}
// Dawn's event loop hooks can keep Node alive after the device is destroyed.
process.exit(0);
