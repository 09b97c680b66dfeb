// `npm run -s marglik -- --task <id> --approx expand|reduce [--epochs n] [--frequency F]
// [--hypersteps K] [--json]` (docs/curvature-tools.md §2): online marginal-likelihood training of a
// task's model with one K-FAC flavour for the Laplace fits, then the test metrics of the MAP model
// and of its Laplace (GLM, probit) predictive. Progress on stderr; a summary (log marglik, δ per
// layer, test accuracy / NLL / ECE, time per Laplace fit) or, with --json, the whole result on
// stdout. Exit codes: 0 success, 2 bad arguments (the message names the flag), 1 failure while running.
import { parseArgs } from 'node:util';
import { writeSync } from 'node:fs';
import { createBackend } from '../engine/backend/create-backend.ts';
import { isTaskId, TASK_IDS, type TaskId } from '../engine/lab/tasks.ts';
import { runMarglik, type MarglikRunOptions, type MarglikRunResult } from '../engine/tools/marglik/experiment.ts';
import { progressBar } from './lab-report.ts';

const USAGE = `usage: npm run -s marglik -- --task <id> --approx expand|reduce [options]

Trains the task's model with the online marginal likelihood (Immer et al. 2021): Adam on the mean
loss plus the Gaussian prior ½ Σ_l δ_l ‖θ_l‖² / N; every F epochs a Kronecker Laplace fit (K-FAC-expand
or K-FAC-reduce) and K Adam steps on log δ_l; the state of the best log marglik is kept. Then the MAP
model and its Laplace predictive (linearised, probit) on the task's held-out data.

  --task <id>            ${TASK_IDS.join(', ')} (tasks with one prediction per example)
  --approx expand|reduce the K-FAC flavour of the Laplace fits
  --epochs n             epochs over the training examples (default 10)
  --frequency F          a Laplace fit every F epochs (default 1)
  --hypersteps K         Adam steps on the log prior precisions per fit (default 10)
  --seed s               initial weights and batch order (default 0)
  --lr x                 Adam's learning rate for the weights (default 0.001)
  --train-examples n     use the first n training examples (default all)
  --test-examples n      evaluate on the first n held-out examples (default all)
  --fisher mc|type-2     the GGN of the Laplace fits: one sampled label per example (default) or exact
  --mc-samples S         also sample the linearised model S times (a check of the probit predictive)
  --backend wasm|cpu|webgpu  (default wasm)
  --json                 print the whole result as JSON instead of the summary
  --help`;

class ArgsError extends Error {}

function fail(message: string, code: number): never {
  writeSync(2, `marglik: ${message}\n`);
  process.exit(code);
}

function positiveInt(value: string | undefined, flag: string, fallback: number | undefined): number | undefined {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new ArgsError(`--${flag}: expected a whole number ≥ 1, got ${JSON.stringify(value)}`);
  return n;
}

export function parseMarglikArgs(argv: string[]): (MarglikRunOptions & { json: boolean; backend: 'wasm' | 'cpu' | 'webgpu' }) | 'help' {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      options: {
        task: { type: 'string' },
        approx: { type: 'string' },
        epochs: { type: 'string' },
        frequency: { type: 'string' },
        hypersteps: { type: 'string' },
        seed: { type: 'string' },
        lr: { type: 'string' },
        'train-examples': { type: 'string' },
        'test-examples': { type: 'string' },
        'mc-samples': { type: 'string' },
        fisher: { type: 'string' },
        backend: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (e) {
    throw new ArgsError((e as Error).message);
  }
  if (values.help) return 'help';
  if (values.task === undefined) throw new ArgsError(`--task is required (${TASK_IDS.join(', ')})`);
  if (!isTaskId(values.task)) throw new ArgsError(`--task: unknown task ${JSON.stringify(values.task)} (tasks: ${TASK_IDS.join(', ')})`);
  const task: TaskId = values.task;
  if (values.approx !== 'expand' && values.approx !== 'reduce')
    throw new ArgsError(`--approx: expected expand or reduce, got ${JSON.stringify(values.approx ?? null)}`);
  const backend = values.backend ?? 'wasm';
  if (backend !== 'wasm' && backend !== 'cpu' && backend !== 'webgpu')
    throw new ArgsError(`--backend: expected wasm, cpu or webgpu, got ${JSON.stringify(backend)}`);
  const seed = values.seed === undefined ? 0 : Number(values.seed);
  if (!Number.isInteger(seed) || seed < 0) throw new ArgsError(`--seed: expected a whole number ≥ 0, got ${JSON.stringify(values.seed)}`);
  const lr = values.lr === undefined ? 1e-3 : Number(values.lr);
  if (!(lr > 0) || !Number.isFinite(lr)) throw new ArgsError(`--lr: expected a number > 0, got ${JSON.stringify(values.lr)}`);
  const fisher = values.fisher ?? 'mc';
  if (fisher !== 'mc' && fisher !== 'type-2') throw new ArgsError(`--fisher: expected mc or type-2, got ${JSON.stringify(fisher)}`);
  const mc = values['mc-samples'] === undefined ? 0 : positiveInt(values['mc-samples'], 'mc-samples', 0);
  return {
    task,
    approx: values.approx,
    epochs: positiveInt(values.epochs, 'epochs', 10),
    frequency: positiveInt(values.frequency, 'frequency', 1),
    hyperSteps: positiveInt(values.hypersteps, 'hypersteps', 10),
    seed,
    lr,
    trainExamples: positiveInt(values['train-examples'], 'train-examples', undefined),
    testExamples: positiveInt(values['test-examples'], 'test-examples', undefined),
    predictiveSamples: mc,
    fisher,
    backend,
    json: values.json ?? false,
  };
}

export function marglikSummary(r: MarglikRunResult, device: string): string {
  const f = (x: number, d = 4) => x.toFixed(d);
  const lines = [
    `task ${r.task}, K-FAC-${r.approx} Laplace fits, ${r.trainExamples} training examples, ${device}`,
    `log marglik (best, epoch ${r.best.epoch}): ${f(r.best.terms.logMarglik, 2)}  (log lik ${f(r.best.terms.logLik, 2)}, log det P ${f(r.best.terms.logDetPosterior, 2)}, log det P0 ${f(r.best.terms.logDetPrior, 2)}, scatter ${f(r.best.terms.scatter, 2)})`,
    `prior precision δ per layer:`,
    ...r.layers.map((name, k) => `  ${name.padEnd(24)} ${r.precision[k].toPrecision(4)}`),
    `time per Laplace fit: ${f(r.fitMsMean, 1)} ms (${r.fits.length} fits); total ${f(r.totalSeconds, 1)} s`,
    `test (${r.test.map.examples} examples)   accuracy   NLL      ECE`,
    `  MAP                    ${f(r.test.map.accuracy)}     ${f(r.test.map.nll)}   ${f(r.test.map.ece)}`,
    `  Laplace (GLM, probit)  ${f(r.test.laplace.accuracy)}     ${f(r.test.laplace.nll)}   ${f(r.test.laplace.ece)}`,
  ];
  if (r.test.mc) lines.push(`  Laplace (GLM, MC)      ${f(r.test.mc.accuracy)}     ${f(r.test.mc.nll)}   ${f(r.test.mc.ece)}`);
  return `${lines.join('\n')}\n`;
}

async function main(argv: string[]): Promise<void> {
  let args;
  try {
    args = parseMarglikArgs(argv);
  } catch (e) {
    if (e instanceof ArgsError) fail(`${e.message}\n\n${USAGE}`, 2);
    throw e;
  }
  if (args === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const backend = await createBackend({ prefer: args.backend, requireWebGPU: args.backend === 'webgpu' });
  writeSync(2, `marglik: ${backend.info.summary}\n`);
  let shownTenth = -1;
  try {
    const result = await runMarglik(backend, {
      ...args,
      onProgress: (p) => {
        if (p.phase === 'train') {
          const tenth = Math.floor(((p.step + 1) * 10) / p.steps);
          if (tenth !== shownTenth) {
            shownTenth = tenth;
            writeSync(2, `${progressBar(p.step + 1, p.steps)}  training (loss ${p.loss.toFixed(3)})\n`);
          }
        } else if (p.phase === 'fit') {
          writeSync(
            2,
            `  epoch ${p.fit.epoch}: log marglik ${p.fit.terms.logMarglik.toFixed(2)}, Laplace fit ${p.fit.fitMs.toFixed(0)} ms\n`,
          );
        }
      },
    });
    if (args.json) {
      process.stdout.write(`${JSON.stringify({ device: backend.info.summary, ...result }, null, 2)}\n`);
    } else process.stdout.write(marglikSummary(result, backend.info.summary));
  } finally {
    backend.destroy();
  }
}

if (process.argv[1]?.endsWith('marglik.ts')) {
  try {
    await main(process.argv.slice(2));
  } catch (e) {
    fail((e as Error).message, 1);
  }
  await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
  process.exit(0);
}
