// `npm run factors -- case.json` (or `-` for stdin): the K-FAC factors of a small model given layer
// by layer, as JSON on stdout, for cross-checks against other K-FAC implementations. The case
// format is in src/engine/tools/case.ts. Exit codes: 0 success, 2 unusable case (the message names the
// field), 1 failure while computing.
import { CASE_FIELDS, computeCaseFactors, openCaseBackend, parseFactorsCase } from '../engine/tools/case.ts';
import { failWith, type Fail, fieldLines, readJsonCase, withCaseErrors, writeStdout } from './case-io.ts';
import { formatCaseFactors } from './factors-case.ts';

const USAGE = `usage: npm run factors -- <case.json | ->

Prints {"layers": [{"index", "A", "G"}, ...]}: the K-FAC factors of every linear layer, in order
(index = position in "layers"). Case fields:
${fieldLines(CASE_FIELDS)}`;

const fail: Fail = failWith('factors');

async function main(args: string[]): Promise<void> {
  if (args[0] === '--help' || args[0] === '-h') {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (args.length !== 1) fail(`expected one case file\n\n${USAGE}`, 2);
  const source = args[0];
  const json = readJsonCase(source, fail);
  const parsed = await withCaseErrors(source, fail, () => parseFactorsCase(json));
  const backend = await openCaseBackend(parsed);
  try {
    const output = formatCaseFactors(await computeCaseFactors(parsed, backend));
    await writeStdout(output);
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
