// `npm run -s curvature -- <tool> <case.json | ->` (docs/curvature-tools.md §0): run one curvature
// tool of the engine's registry (src/engine/tools/registry.ts) on a JSON case and print its output
// as JSON on stdout. `--help` lists the tools and the case fields; `<tool> --help` one tool's fields.
// Exit codes: 0 success, 2 unusable input (unknown tool, unreadable file, invalid JSON, or a case
// field, which the message names), 1 failure while computing.
import { CASE_FIELDS } from '../engine/tools/case.ts';
import { findTool, TOOLS, type CurvatureTool } from '../engine/tools/registry.ts';
import { failWith, type Fail, fieldLines, readJsonCase, withCaseErrors, writeStdout } from './case-io.ts';
import { formatToolJson } from './curvature-json.ts';

function toolUsage(tool: CurvatureTool): string {
  const own = Object.keys(tool.fields).length > 0 ? fieldLines(tool.fields) : '  (none)';
  return `usage: npm run -s curvature -- ${tool.name} <case.json | ->

${tool.about}

Fields of ${tool.name}:
${own}

Case fields (shared by every tool):
${fieldLines(CASE_FIELDS)}`;
}

const USAGE = `usage: npm run -s curvature -- <tool> <case.json | ->
       npm run -s curvature -- <tool> --help

Runs a curvature tool on a JSON case ("-" reads stdin) and prints JSON on stdout:
{"layers": [{"index": k, ...}, ...], ...}, one entry per linear layer in model order (k = its
position in "layers"); matrices are nested row-major arrays, eigenvectors are columns.

Tools:
${TOOLS.map((t) => `  ${t.name.padEnd(10)} ${t.about}${Object.keys(t.fields).length > 0 ? ` Fields: ${Object.keys(t.fields).join(', ')}.` : ''}`).join('\n')}

Case fields (shared by every tool):
${fieldLines(CASE_FIELDS)}`;

const fail: Fail = failWith('curvature');

async function main(args: string[]): Promise<void> {
  const isHelp = (a: string | undefined) => a === '--help' || a === '-h';
  if (args.length === 0 || isHelp(args[0])) {
    if (args.length === 0) fail(`expected a tool and a case file\n\n${USAGE}`, 2);
    await writeStdout(`${USAGE}\n`);
    return;
  }
  const tool = findTool(args[0]);
  if (!tool) fail(`unknown tool "${args[0]}" (tools: ${TOOLS.map((t) => t.name).join(', ')})`, 2);
  if (isHelp(args[1])) {
    await writeStdout(`${toolUsage(tool)}\n`);
    return;
  }
  if (args.length !== 2) fail(`expected one case file after the tool\n\n${USAGE}`, 2);
  const source = args[1];
  const json = readJsonCase(source, fail);
  const output = await withCaseErrors(source, fail, () => tool.run(json));
  await writeStdout(`${formatToolJson(output)}\n`);
}

try {
  await main(process.argv.slice(2));
} catch (e) {
  fail((e as Error).stack ?? String(e), 1);
}
// Dawn's event loop hooks can keep Node alive after the device is destroyed.
process.exit(0);
