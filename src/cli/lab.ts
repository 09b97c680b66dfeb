// `npm run lab -- --task <id> --optimizers sgd,adam,kfac-expand,kfac-reduce --steps N ...`: one
// experiment from the command line. Progress on stderr, the summary table on stdout, optionally the
// whole result as JSON (--json) and CSV (--csv). Flags: lab-args.ts. Exit codes: 0 success (a run
// that diverged is reported in the table, the others finish), 2 bad arguments (the message names
// the flag), 1 failure while running.
import { writeFileSync, writeSync } from 'node:fs';
import { createBackend } from '../engine/backend/create-backend.ts';
import { ExperimentConfigError } from '../engine/lab/experiment-config.ts';
import { LAB_USAGE, LabArgsError, listText, parseLabArgs, type LabRunArgs } from './lab-args.ts';
import { deviceOf, labCsv, labJson } from '../engine/lab/report.ts';
import { tuneExperiment, tuningTable, type TuneResult } from '../engine/lab/sweep.ts';
import { progressBar, runLab, summaryTable } from './lab-report.ts';

function fail(message: string, code: number): never {
  writeSync(2, `lab: ${message}\n`);
  process.exit(code);
}

function writeStdout(text: string): Promise<void> {
  // Let a piped stdout drain before the process.exit at the end.
  return new Promise<void>((resolve, reject) => process.stdout.write(text, (e) => (e ? reject(e) : resolve())));
}

async function run(args: LabRunArgs): Promise<void> {
  const backend = await createBackend({ prefer: args.backend, requireWebGPU: args.requireWebGPU });
  if (backend.info.fallbackReason) writeSync(2, `lab: using the ${backend.name} backend: ${backend.info.fallbackReason}\n`);
  writeSync(2, `lab: ${backend.info.summary}\n`);
  // A terminal gets one bar redrawn in place; a pipe or log file a line per tenth of the run.
  const tty = process.stderr.isTTY === true;
  let shown = '';
  let shownTenth = -1;
  let shownPhase = '';
  const onProgress = (done: number, total: number, phase: string) => {
    const tenth = Math.floor((done * 10) / total);
    if (!tty && tenth === shownTenth && phase === shownPhase) return;
    shownTenth = tenth;
    shownPhase = phase;
    const bar = `${progressBar(done, total)}  ${phase}`;
    if (bar === shown) return;
    shown = bar;
    writeSync(2, tty ? `\r${bar}` : `${bar}\n`);
  };
  try {
    let result;
    let tuning: TuneResult[] = [];
    let config = args.config;
    try {
      if (args.sweeps.length > 0) {
        writeSync(2, `lab: tuning ${args.sweeps.map((a) => `${a.group}.${a.key}`).join(', ')}\n`);
        ({ config, tuning } = await tuneExperiment(backend, args.config, args.sweeps, {
          onProgress: ({ label, done, total, chunk, chunks }) =>
            onProgress(done, total, `tuning ${label}${chunks > 1 ? ` (${chunk + 1}/${chunks})` : ''}`),
        }));
        if (shown && tty) writeSync(2, '\n');
        shown = '';
        shownTenth = -1;
        await writeStdout(
          `tuning (${args.config.target ? 'fewest steps to the target' : 'best final validation metric'}):\n${tuningTable(tuning)}\n\n`,
        );
      }
      result = await runLab(backend, config, (done, total) => onProgress(done, total, 'comparison'));
    } catch (e) {
      // Problems only the loaded task can see (e.g. a batch larger than the training set).
      if (e instanceof ExperimentConfigError) fail(e.messages.join('\n'), 2);
      throw e;
    } finally {
      if (shown && tty) writeSync(2, '\n');
    }
    if (args.json) writeFileSync(args.json, `${JSON.stringify({ ...labJson(result, deviceOf(backend)), tuning }, null, 2)}\n`);
    if (args.csv) writeFileSync(args.csv, labCsv(result));
    await writeStdout(`${summaryTable(result)}\n`);
  } finally {
    backend.destroy();
  }
}

async function main(argv: string[]): Promise<void> {
  let args;
  try {
    args = parseLabArgs(argv);
  } catch (e) {
    if (e instanceof LabArgsError) fail(`${e.message}\n\n${LAB_USAGE}`, 2);
    throw e;
  }
  if (args.kind === 'help') await writeStdout(`${LAB_USAGE}\n`);
  else if (args.kind === 'list') await writeStdout(`${listText()}\n`);
  else await run(args);
}

try {
  await main(process.argv.slice(2));
} catch (e) {
  fail((e as Error).stack ?? String(e), 1);
}
// Dawn's event loop hooks can keep Node alive after the device is destroyed.
process.exit(0);
