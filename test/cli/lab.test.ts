// `npm run lab`: argument parsing into a preset-based ExperimentConfig (with --set validated by the
// schema and messages naming the flag), the report formats from a short in-process run, and one real
// process run each for valid and bad arguments.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CpuBackend } from '../../src/engine/backend/cpu/cpu-backend.ts';
import { presetConfig } from '../../src/engine/lab/presets.ts';
import type { ExperimentResult, RunResult } from '../../src/engine/lab/results.ts';
import { TASK_IDS } from '../../src/engine/lab/tasks.ts';
import { OPTIMIZER_IDS } from '../../src/engine/optim/schema.ts';
import { LabArgsError, listText, parseLabArgs, type LabRunArgs } from '../../src/cli/lab-args.ts';
import { runLab, summaryTable } from '../../src/cli/lab-report.ts';
import { deviceOf, firstOrderBaseline, labCsv, labJson } from '../../src/engine/lab/report.ts';

const cpu = new CpuBackend();
const tmp = mkdtempSync(join(tmpdir(), 'lab-cli-'));
afterAll(() => {
  cpu.destroy();
  rmSync(tmp, { recursive: true, force: true });
});

function runArgs(argv: string[]): LabRunArgs {
  const args = parseLabArgs(argv);
  if (args.kind !== 'run') throw new Error(`expected a run, got ${args.kind}`);
  return args;
}

function errorOf(argv: string[]): string {
  try {
    parseLabArgs(argv);
  } catch (e) {
    expect(e).toBeInstanceOf(LabArgsError);
    return (e as Error).message;
  }
  throw new Error(`parseLabArgs(${argv.join(' ')}) did not fail`);
}

describe('parseLabArgs', () => {
  it('builds on the task preset: flags override, --optimizers selects and orders preset entries', () => {
    const args = runArgs([
      '--task',
      'mlp-spirals',
      '--optimizers',
      'kfac-reduce,sgd,adamw',
      '--steps=12',
      '--seed',
      '3',
      '--batch-size',
      '16',
      '--eval-interval',
      '4',
      '--target',
      '0.9',
      '--backend',
      'cpu',
      '--json',
      'out.json',
      '--csv',
      'out.csv',
    ]);
    const preset = presetConfig('mlp-spirals');
    expect(args.backend).toBe('cpu');
    expect(args.requireWebGPU).toBe(false);
    expect(args.json).toBe('out.json');
    expect(args.csv).toBe('out.csv');
    const { optimizers, ...rest } = args.config;
    expect(rest).toEqual({
      task: 'mlp-spirals',
      steps: 12,
      seed: 3,
      batchSize: 16,
      evalInterval: 4,
      target: { metric: 'valAccuracy', value: 0.9 },
    });
    expect(optimizers.map((o) => o.id)).toEqual(['kfac-reduce', 'sgd', 'adamw']);
    expect(optimizers[0]).toEqual(preset.optimizers.find((o) => o.id === 'kfac-reduce'));
    expect(optimizers[1]).toEqual(preset.optimizers.find((o) => o.id === 'sgd'));
    // Not in the preset: schema defaults.
    expect(optimizers[2]).toEqual({ id: 'adamw' });
  });

  it('defaults to the whole preset, WebGPU with fallback and no files', () => {
    const args = runArgs(['--task', 'gcn-node']);
    expect(args.config).toEqual(presetConfig('gcn-node'));
    expect(args.backend).toBe('webgpu');
    expect(args.requireWebGPU).toBe(false);
    expect(args.json).toBeNull();
    expect(args.csv).toBeNull();
    expect(runArgs(['--task', 'gcn-node', '--backend', 'webgpu']).requireWebGPU).toBe(true);
    expect(runArgs(['--task', 'gcn-node', '--backend', 'wasm'])).toMatchObject({ backend: 'wasm', requireWebGPU: false });
    expect(runArgs(['--task', 'gcn-node', '--target', 'none']).config.target).toBeNull();
  });

  it('--set applies schema-checked values to the matching runs; schedule and clip to every run', () => {
    const args = runArgs([
      '--task',
      'mlp-spirals',
      '--optimizers',
      'sgd,kfac-reduce',
      '--set',
      'kfac-reduce.damping=0.05',
      '--set',
      'sgd.nesterov=true',
      '--set',
      'clip.maxNorm=2',
    ]);
    const [sgd, kfac] = args.config.optimizers;
    expect(kfac.hyper).toMatchObject({ damping: 0.05, lr: presetConfig('mlp-spirals').optimizers[3].hyper?.lr });
    expect(sgd.hyper).toMatchObject({ nesterov: true, momentum: 0.9 });
    expect(kfac.hyper).not.toHaveProperty('nesterov');
    expect(sgd.clip).toEqual({ maxNorm: 2 });
    expect(kfac.clip).toEqual({ maxNorm: 2 });

    expect(errorOf(['--task', 'mlp-spirals', '--set', 'kfac-reduce.damping=-1'])).toMatch(/--set kfac-reduce\.damping: .*out of range/);
    expect(errorOf(['--task', 'mlp-spirals', '--set', 'kfac-reduce.dampen=1'])).toMatch(/kfac-reduce\.dampen: unknown hyperparameter/);
    expect(errorOf(['--task', 'mlp-spirals', '--set', 'adam.lr=fast'])).toMatch(/adam\.lr: expected a number/);
    expect(errorOf(['--task', 'mlp-spirals', '--optimizers', 'sgd', '--set', 'adam.lr=0.1'])).toMatch(/adam is not among the runs \(sgd\)/);
  });

  it('names the bad flag or value', () => {
    expect(errorOf(['--task', 'mlp-spirals', '--stepz', '5'])).toMatch(/unknown flag --stepz/);
    expect(errorOf(['--task', 'mlp-spirals', '--steps', 'ten'])).toMatch(/--steps: expected a non-negative integer, got "ten"/);
    expect(errorOf(['--task', 'mlp-spirals', '--steps', '0'])).toMatch(/--steps: 0 is out of range/);
    expect(errorOf(['--task', 'mlp-spirals', '--batch-size', '99999'])).toMatch(/--batch-size: 99999 is out of range/);
    expect(errorOf(['--task', 'mlp-spirals', '--steps'])).toMatch(/--steps: missing value/);
    expect(errorOf(['--task', 'mlp-spirals', '--target', '1.5'])).toMatch(/--target: expected an accuracy/);
    expect(errorOf(['--task', 'mlp-spirals', '--backend', 'tpu'])).toMatch(/--backend: expected webgpu, wasm or cpu/);
    expect(errorOf(['--task', 'mlp-spirals', '--optimizers', 'sgd,lbfgs'])).toMatch(/unknown optimizer "lbfgs" \(known: sgd, adam/);
    expect(errorOf(['--task', 'mlp-spirals', '--optimizers', 'sgd,sgd'])).toMatch(/sgd is listed twice/);
    expect(errorOf(['mlp-spirals'])).toMatch(/unexpected argument "mlp-spirals"/);
    expect(errorOf([])).toMatch(/--task is required/);
  });

  it('--sweep collects schema-checked axes for runs that exist', () => {
    const args = runArgs(['--task', 'mlp-spirals', '--sweep', 'adam.lr=1e-3,1e-2', '--sweep', 'kfac-reduce.damping=0.01,0.1']);
    expect(args.sweeps).toEqual([
      { group: 'adam', key: 'lr', values: [1e-3, 1e-2] },
      { group: 'kfac-reduce', key: 'damping', values: [0.01, 0.1] },
    ]);
    expect(runArgs(['--task', 'mlp-spirals']).sweeps).toEqual([]);
    expect(errorOf(['--task', 'mlp-spirals', '--optimizers', 'sgd', '--sweep', 'adam.lr=1e-3,1e-2'])).toMatch(
      /^--sweep adam\.lr=1e-3,1e-2: adam is not among the runs \(sgd\)/,
    );
    expect(errorOf(['--task', 'mlp-spirals', '--sweep', 'adam.lr=1e-3,oops'])).toMatch(/^--sweep /);
    expect(errorOf(['--task', 'mlp-spirals', '--sweep', 'adam.lr=1e-3', '--sweep', 'adam.lr=1e-2'])).toMatch(/given twice/);
  });

  it('an unknown task lists the tasks', () => {
    const message = errorOf(['--task', 'resnet']);
    expect(message).toMatch(/--task: unknown task "resnet"/);
    for (const id of TASK_IDS) expect(message).toContain(id);
  });

  it('--list and --help win over everything else; the list names every task and optimizer', () => {
    expect(parseLabArgs(['--list'])).toEqual({ kind: 'list' });
    expect(parseLabArgs(['--task', 'x', '--help'])).toEqual({ kind: 'help' });
    const text = listText();
    for (const id of [...TASK_IDS, ...OPTIMIZER_IDS]) expect(text).toMatch(new RegExp(`^  ${id} `, 'm'));
  });
});

describe('reports', () => {
  it('a short in-process run gives the JSON document, CSV rows and summary table', async () => {
    const args = runArgs([
      '--task',
      'mlp-spirals',
      '--optimizers',
      'sgd,kfac-reduce',
      '--steps',
      '5',
      '--eval-interval',
      '2',
      '--target',
      '0',
    ]);
    const progress: number[] = [];
    const result = await runLab(cpu, args.config, (done, total) => {
      expect(total).toBe(5);
      progress.push(done);
    });
    expect(progress).toEqual([1, 2, 3, 4, 5]);

    const doc = JSON.parse(JSON.stringify(labJson(result, deviceOf(cpu))));
    expect(Object.keys(doc).sort()).toEqual(['config', 'device', 'parameterCount', 'runs']);
    expect(doc.config).toMatchObject({ task: 'mlp-spirals', steps: 5, evalInterval: 2, target: { metric: 'valAccuracy', value: 0 } });
    expect(doc.device).toEqual({ backend: 'cpu', summary: cpu.info.summary, fallbackReason: null });
    expect(doc.runs.map((r: { optimizer: string }) => r.optimizer)).toEqual(['sgd', 'kfac-reduce']);
    for (const run of doc.runs) {
      expect(run.error).toBeNull();
      expect(run.history.step).toEqual([1, 2, 3, 4, 5]);
      expect(run.history.trainLoss).toHaveLength(5);
      for (const loss of run.history.trainLoss) expect(Number.isFinite(loss)).toBe(true);
      // Evaluated every 2 steps and after the last.
      expect(run.history.valMetric.map((v: number | null) => v !== null)).toEqual([false, true, false, true, true]);
      expect(run.history.timeMs).toHaveLength(5);
      // A target of 0 is reached at the first evaluation.
      expect(run.stepsToTarget).toBe(2);
      expect(run.timeToTargetMs).toBe(run.history.timeMs[1]);
      expect(Object.keys(run.phaseMs)).toEqual(expect.arrayContaining(['forward', 'update']));
      expect(typeof run.hyper.lr).toBe('number');
    }

    const csv = labCsv(result).trim().split('\n');
    expect(csv[0]).toBe('run,label,optimizer,step,trainLoss,valMetric,timeMs,klScale');
    expect(csv).toHaveLength(1 + 2 * 5);
    // SGD has no KL clip: its klScale cell is empty; K-FAC's holds ν of the step, in (0, 1].
    expect(csv[1]).toMatch(/^0,SGD,sgd,1,[\d.e-]+,,[\d.]+,$/);
    expect(csv[10]).toMatch(/^1,K-FAC-reduce,kfac-reduce,5,[\d.e-]+,[\d.]+,[\d.]+,[\d.e-]+$/);
    const kfacRun = doc.runs[1];
    expect(doc.runs[0].history.klScale).toBeUndefined();
    expect(kfacRun.history.klScale).toHaveLength(5);
    kfacRun.history.klScale.forEach((nu: number, i: number) => {
      expect(nu).toBeGreaterThan(0);
      expect(nu).toBeLessThanOrEqual(1);
      expect(Number(csv[6 + i].split(',').at(-1))).toBe(nu);
    });

    const table = summaryTable(result);
    expect(table).toMatch(/^SGD +[\d.]+ +[\d.]+ +2 +\d+ ms +1\.00× +1\.00× +forward /m);
    expect(table).toMatch(/^K-FAC-reduce +[\d.]+ +[\d.]+ +2 .* 1\.00× .*factors /m);
  }, 20_000);

  it('ratios use the best first-order run that reached the target; failed runs show their message', () => {
    const run = (
      optimizer: RunResult['optimizer'],
      label: string,
      stepsToTarget: number | null,
      timeToTargetMs: number | null,
      error?: string,
    ): RunResult => ({
      optimizer,
      label,
      hyper: {},
      history: { step: [1, 2], trainLoss: [1, 0.5], valMetric: [null, 0.8], timeMs: [1, 2] },
      stepsToTarget,
      timeToTargetMs,
      phaseMs: { forward: 4 },
      stepsCompleted: 2,
      error,
    });
    const runs = [
      run('sgd', 'SGD', 40, 100),
      run('adam', 'Adam', 20, 150),
      run('kfac-reduce', 'K-FAC', 10, 60),
      run('kfac-expand', 'X', null, null, 'step 3: training loss is NaN (diverged); run stopped'),
    ];
    expect(firstOrderBaseline(runs)).toEqual({ steps: 20, timeMs: 100 });
    expect(firstOrderBaseline([runs[2]])).toBeNull();
    const config = { ...presetConfig('mlp-spirals'), target: { metric: 'valAccuracy' as const, value: 0.8 }, optimizers: [] };
    const result: ExperimentResult = { config, parameterCount: 10, runs, stopped: false };
    const table = summaryTable(result);
    expect(table).toMatch(/^K-FAC +0\.5000 +0\.8000 +10 +60 ms +0\.50× +0\.60× +forward 2\.00$/m);
    expect(table).toMatch(/^X \(failed\) .* — +— +— +— +forward 2\.00$/m);
    expect(table).toContain('X: step 3: training loss is NaN (diverged); run stopped');
    const none = summaryTable({ ...result, runs: runs.slice(2) });
    expect(none).toMatch(/^K-FAC .* 10 +60 ms +— +— /m);
  });
});

describe('a short CLI run per preset (CPU backend, in process)', () => {
  for (const id of TASK_IDS) {
    it(`${id}: every preset run finishes 2 steps and appears in the table and the JSON`, async () => {
      const args = runArgs(['--task', id, '--steps', '2', '--eval-interval', '2', '--backend', 'cpu']);
      const result = await runLab(cpu, args.config);
      const doc = labJson(result, deviceOf(cpu));
      expect(doc.runs.map((r) => r.optimizer)).toEqual(['sgd', 'adam', 'kfac-expand', 'kfac-reduce']);
      for (const run of doc.runs) {
        expect(run.error, run.label).toBeNull();
        expect(run.history.step).toEqual([1, 2]);
        expect(run.history.trainLoss.every(Number.isFinite)).toBe(true);
      }
      const table = summaryTable(result);
      for (const run of doc.runs) expect(table).toMatch(new RegExp(`^${run.label} `, 'm'));
    }, 60_000);
  }
});

describe('process', () => {
  const npm = (args: string[]) => spawnSync('npm', ['run', '-s', 'lab', '--', ...args], { encoding: 'utf8', timeout: 60_000 });

  it('a valid run exits 0, prints the table and writes the JSON file', () => {
    const out = join(tmp, 'out.json');
    const r = npm([
      '--task',
      'mlp-spirals',
      '--optimizers',
      'sgd,kfac-reduce',
      '--steps',
      '5',
      '--backend',
      'cpu',
      '--sweep',
      'sgd.lr=0.05,0.2',
      '--json',
      out,
    ]);
    expect(r.stderr).toContain('5/5 steps');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^tuning \(/m);
    expect(r.stdout).toMatch(/^SGD: tuned lr=0\.(05|2)$/m);
    expect(r.stdout).toMatch(/^SGD /m);
    expect(r.stdout).toMatch(/^K-FAC-reduce /m);
    const doc = JSON.parse(readFileSync(out, 'utf8'));
    expect(doc.config.steps).toBe(5);
    expect(doc.device.backend).toBe('cpu');
    expect(doc.runs.map((run: { optimizer: string }) => run.optimizer)).toEqual(['sgd', 'kfac-reduce']);
    for (const run of doc.runs) expect(run.history.step).toEqual([1, 2, 3, 4, 5]);
    expect(doc.tuning).toHaveLength(1);
    expect(doc.tuning[0].trials).toHaveLength(2);
    expect(doc.runs[0].hyper.lr).toBe(doc.tuning[0].best.lr);
  }, 60_000);

  it('bad arguments exit 2 with a message naming the flag', () => {
    const r = npm(['--task', 'mlp-spirals', '--steps', 'many', '--backend', 'cpu']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('lab: --steps: expected a non-negative integer, got "many"');
    expect(r.stderr).toContain('usage: npm run lab');
    expect(r.stdout).toBe('');
  }, 60_000);
});
