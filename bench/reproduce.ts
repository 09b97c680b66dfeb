// The reproduction benchmark: does K-FAC reach a fixed validation target in fewer steps
// and less time than SGD and Adam, as the paper reports (50–75% of the first-order steps)?
//
// For each task: tune each optimizer's learning rate (and K-FAC's damping) on a small grid with
// the lab's sweep (seed 1, every trial stopped at the target), then run the four tuned optimizers
// side by side for each seed, interleaved on one backend after an untimed warm-up (so pipeline
// compilation is not charged to whichever run goes first), and report steps and wall-clock to the
// target. Results: bench/results/reproduce.json (everything, written after each task) and
// bench/results/reproduce.md (the tables) for the reference CPU backend; reproduce-<backend>.{json,md}
// for the others, so one backend's run never overwrites another's.
//
// Usage: npm run bench -- reproduce [--backend cpu|wasm|webgpu] [--tasks gcn-node,vit-mnist,...] [--seeds 1,2,3] [--report-only]
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { createBackend } from '../src/engine/backend/create-backend.ts';
import type { Backend } from '../src/engine/backend/backend.ts';
import { runExperiment } from '../src/engine/lab/experiment.ts';
import type { ExperimentConfig, OptimizerEntry } from '../src/engine/lab/experiment-config.ts';
import type { RunResult } from '../src/engine/lab/results.ts';
import { TASKS, type TaskId } from '../src/engine/lab/tasks.ts';
import { deviceOf, type LabDevice } from '../src/engine/lab/report.ts';
import { describePoint, tuneExperiment, type SweepAxis, type TuneResult } from '../src/engine/lab/sweep.ts';
import type { OptimizerId, ParamValue } from '../src/engine/optim/schema.ts';

interface TaskPlan {
  task: TaskId;
  target: number;
  steps: number;
  evalInterval: number;
  /** The swept values per optimizer; K-FAC also sweeps damping. */
  grid: Record<(typeof OPTIMIZERS)[number], Record<string, ParamValue[]>>;
  /** Set when the grid holds one value per axis, fixed by an earlier tuning: says how it was tuned. */
  tunedEarlier?: string;
}

const OPTIMIZERS = ['sgd', 'adam', 'kfac-expand', 'kfac-reduce'] as const;
const LABELS: Record<(typeof OPTIMIZERS)[number], string> = {
  sgd: 'SGD',
  adam: 'Adam',
  'kfac-expand': 'K-FAC-expand',
  'kfac-reduce': 'K-FAC-reduce',
};

// Grids around values that train each task; small on purpose (the runs are CPU-bound here).
// SGD uses momentum 0.9; K-FAC's fallback (for parameters it does not precondition) is Adam.
const PLANS: TaskPlan[] = [
  {
    // 81 validation nodes, a ceiling near 0.83 before the model overfits: evaluate every step.
    task: 'gcn-node',
    target: 0.8,
    steps: 100,
    evalInterval: 1,
    grid: {
      sgd: { lr: [0.05, 0.1, 0.2, 0.5] },
      adam: { lr: [3e-3, 1e-2, 3e-2] },
      'kfac-expand': { lr: [0.05, 0.1, 0.3], damping: [1e-2, 1e-1] },
      'kfac-reduce': { lr: [0.05, 0.1, 0.3], damping: [1e-2, 1e-1] },
    },
  },
  {
    // Slow here (about a second per step and run on this VM): the values were tuned once on the grid
    // sgd.lr 0.03,0.1; adam.lr 1e-3,3e-3; kfac-*.lr 0.05,0.1 × damping 1e-2,1e-1 (seed 1, 200 steps,
    // target 0.8, which no trial reached, so by final validation accuracy) and are fixed here.
    task: 'vit-mnist',
    target: 0.7,
    steps: 200,
    evalInterval: 10,
    grid: {
      sgd: { lr: [0.03] },
      adam: { lr: [3e-3] },
      'kfac-expand': { lr: [0.05], damping: [1e-2] },
      'kfac-reduce': { lr: [0.05], damping: [1e-1] },
    },
    tunedEarlier:
      'tuned in an earlier run of this benchmark on the grid sgd.lr 0.03,0.1; adam.lr 1e-3,3e-3; kfac lr 0.05,0.1 × damping 1e-2,1e-1 (seed 1, 200 steps; no trial reached 0.8, so by best final validation accuracy)',
  },
  {
    // The values were tuned once on the grid below, with target 0.9 in 600 steps, which no trial
    // reached (the 106 validation sums plateau near 0.85), so by final validation accuracy.
    task: 'transformer-modular',
    target: 0.8,
    steps: 500,
    evalInterval: 10,
    grid: {
      sgd: { lr: [0.1] },
      adam: { lr: [3e-3] },
      'kfac-expand': { lr: [0.05], damping: [0.1] },
      'kfac-reduce': { lr: [0.05], damping: [0.1] },
    },
    tunedEarlier:
      'tuned in an earlier run of this benchmark on the grid sgd.lr 0.1,0.3; adam.lr 3e-3,1e-2; kfac lr 0.05,0.2 × damping 0.1 (seed 1, 600 steps; no trial reached 0.9, so by best final validation accuracy)',
  },
];

function baseEntries(): OptimizerEntry[] {
  return OPTIMIZERS.map((id) => ({
    id,
    label: LABELS[id],
    hyper: id === 'sgd' ? { momentum: 0.9 } : id === 'adam' ? {} : { fallbackLr: 3e-3 },
  }));
}

function axesOf(plan: TaskPlan): SweepAxis[] {
  return OPTIMIZERS.flatMap((id) => Object.entries(plan.grid[id]).map(([key, values]) => ({ group: id, key, values })));
}

/** The config with each axis's single value filled in (no tuning runs). */
function fixedValues(config: ExperimentConfig, axes: SweepAxis[]): ExperimentConfig {
  return {
    ...config,
    optimizers: config.optimizers.map((entry) => ({
      ...entry,
      hyper: { ...entry.hyper, ...Object.fromEntries(axes.filter((a) => a.group === entry.id).map((a) => [a.key, a.values[0]])) },
    })),
  };
}

interface SeedRun {
  seed: number;
  stepsToTarget: number | null;
  timeToTargetMs: number | null;
  stepsCompleted: number;
  msPerStep: number;
  error: string | null;
}

interface OptimizerRow {
  optimizer: OptimizerId;
  label: string;
  tuned: Record<string, ParamValue>;
  seeds: SeedRun[];
}

interface TaskResult {
  task: TaskId;
  setting: string;
  target: number;
  maxSteps: number;
  evalInterval: number;
  batchSize: number;
  tuning: TuneResult[];
  tunedEarlier: string | null;
  rows: OptimizerRow[];
  tuneSeconds: number;
  runSeconds: number;
}

function seedRun(seed: number, r: RunResult): SeedRun {
  const steps = Math.max(r.stepsCompleted, 1);
  return {
    seed,
    stepsToTarget: r.stepsToTarget,
    timeToTargetMs: r.timeToTargetMs,
    stepsCompleted: r.stepsCompleted,
    msPerStep: (r.history.timeMs.at(-1) ?? 0) / steps,
    error: r.error ?? null,
  };
}

async function runTask(backend: Backend, plan: TaskPlan, seeds: number[]): Promise<TaskResult> {
  const config: ExperimentConfig = {
    task: plan.task,
    batchSize: TASKS[plan.task].defaultBatchSize,
    steps: plan.steps,
    seed: seeds[0],
    evalInterval: plan.evalInterval,
    target: { metric: 'valAccuracy', value: plan.target },
    optimizers: baseEntries(),
  };
  const t0 = performance.now();
  let lastLine = '';
  const axes = axesOf(plan);
  const { config: tuned, tuning } = plan.tunedEarlier
    ? { config: fixedValues(config, axes), tuning: [] as TuneResult[] }
    : await tuneExperiment(backend, config, axes, {
        onProgress: ({ label, done, total }) => {
          const line = `  tuning ${label}: step ${Math.floor(done / 50) * 50}/${total}`;
          if (line !== lastLine) console.log((lastLine = line));
        },
      });
  const tuneSeconds = (performance.now() - t0) / 1000;
  for (const t of tuning) console.log(`  ${t.label}: ${t.best ? describePoint(t.best) : 'every trial failed'}`);

  // Untimed warm-up: compiles every pipeline the tuned runs use before any clock starts.
  await runExperiment(backend, { ...tuned, steps: 2, evalInterval: 2, target: null });
  const t1 = performance.now();
  const rows: OptimizerRow[] = tuned.optimizers.map((entry, i) => ({
    optimizer: entry.id,
    label: entry.label ?? entry.id,
    tuned:
      tuning.find((t) => t.run === i)?.best ??
      Object.fromEntries(axes.filter((a) => a.group === entry.id).map((a) => [a.key, a.values[0]])),
    seeds: [],
  }));
  for (const seed of seeds) {
    const result = await runExperiment(backend, { ...tuned, seed }, { stopAtTarget: true, phaseTiming: false });
    result.runs.forEach((r, i) => rows[i].seeds.push(seedRun(seed, r)));
    console.log(`  seed ${seed}: ` + result.runs.map((r) => `${r.label} ${r.stepsToTarget ?? `>${plan.steps}`} steps`).join(', '));
  }
  return {
    task: plan.task,
    setting: TASKS[plan.task].setting,
    target: plan.target,
    maxSteps: plan.steps,
    evalInterval: plan.evalInterval,
    batchSize: config.batchSize,
    tuning,
    tunedEarlier: plan.tunedEarlier ?? null,
    rows,
    tuneSeconds,
    runSeconds: (performance.now() - t1) / 1000,
  };
}

// ---- the report -----------------------------------------------------------------------------------

function mean(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

function meanReached(values: (number | null)[]): { mean: number | null; reached: number } {
  const hit = values.filter((v): v is number => v !== null);
  return { mean: hit.length === values.length && hit.length > 0 ? mean(hit) : null, reached: hit.length };
}

/** Per-seed ratio to Adam, averaged over the seeds where both reached the target. */
function ratioToAdam(row: OptimizerRow, adam: OptimizerRow, pick: (s: SeedRun) => number | null): string {
  const ratios: number[] = [];
  row.seeds.forEach((s, i) => {
    const a = pick(adam.seeds[i]);
    const b = pick(s);
    if (a !== null && b !== null && a > 0) ratios.push(b / a);
  });
  return ratios.length === 0 ? '—' : `${mean(ratios).toFixed(2)}${ratios.length < row.seeds.length ? ` (${ratios.length} seeds)` : ''}`;
}

function machine(): string {
  const cores = cpus();
  return `${cores[0]?.model.trim() ?? 'unknown CPU'} × ${cores.length} cores, Node ${process.version}`;
}

export function markdownReport(device: LabDevice, results: TaskResult[], started: string): string {
  const lines = [
    '# Reproduction benchmark: steps and wall-clock to a validation target',
    '',
    `Device: ${device.backend === 'cpu' ? 'the CPU backend (TypeScript, no GPU)' : `${device.summary} (backend: ${device.backend})`} on ${machine()}. Run ${started} with \`npm run bench -- reproduce --backend ${device.backend}\`.`,
    '',
    'Each optimizer was tuned on the grid below (seed 1, trials stopped at the target; the best = fewest steps to the',
    'target, else the best final validation accuracy), then the four tuned optimizers ran side by side on the same',
    'initial weights and batches for each seed, interleaved step by step on one backend after an untimed warm-up.',
    'Steps and times are the mean over the seeds when every seed reached the target (else "—" with the count);',
    'ratios are per seed to Adam, averaged. Wall-clock counts training steps only (evaluations are not timed).',
    '',
  ];
  for (const t of results) {
    const adam = t.rows.find((r) => r.optimizer === 'adam');
    lines.push(
      `## ${TASKS[t.task].title} — ${t.setting} setting`,
      '',
      `Target: validation accuracy ≥ ${t.target} within ${t.maxSteps} steps (evaluated every ${t.evalInterval}); batch ${t.batchSize}; seeds ${t.rows[0].seeds.map((s) => s.seed).join(', ')}.`,
      t.tunedEarlier
        ? `The seeded runs took ${t.runSeconds.toFixed(0)} s.`
        : `Tuning took ${t.tuneSeconds.toFixed(0)} s, the seeded runs ${t.runSeconds.toFixed(0)} s.`,
      '',
      '| optimizer | tuned | reached | steps to target | time to target (s) | steps / Adam | time / Adam | ms / step |',
      '|---|---|---:|---:|---:|---:|---:|---:|',
    );
    for (const row of t.rows) {
      const steps = meanReached(row.seeds.map((s) => s.stepsToTarget));
      const time = meanReached(row.seeds.map((s) => s.timeToTargetMs));
      const n = row.seeds.length;
      const per = row.seeds.map((s) => s.stepsToTarget ?? `>${t.maxSteps}`).join(' / ');
      lines.push(
        [
          '',
          row.label,
          describePoint(row.tuned) || '—',
          `${steps.reached}/${n}`,
          steps.mean !== null ? `${steps.mean.toFixed(0)} (${per})` : `— (${per})`,
          time.mean !== null ? (time.mean / 1000).toFixed(1) : '—',
          adam ? ratioToAdam(row, adam, (s) => s.stepsToTarget) : '—',
          adam ? ratioToAdam(row, adam, (s) => s.timeToTargetMs) : '—',
          mean(row.seeds.map((s) => s.msPerStep)).toFixed(1),
          '',
        ]
          .join(' | ')
          .trim(),
      );
    }
    const failures = t.rows.flatMap((r) => r.seeds.filter((s) => s.error).map((s) => `${r.label}, seed ${s.seed}: ${s.error}`));
    if (failures.length > 0) lines.push('', ...failures.map((f) => `- ${f}`));
    if (t.tunedEarlier) lines.push('', `Values ${t.tunedEarlier}.`);
    if (t.tuning.length === 0) {
      lines.push('');
      continue;
    }
    lines.push('', '<details><summary>Tuning trials</summary>', '');
    for (const tune of t.tuning) {
      lines.push(
        `- ${tune.label}: ` +
          tune.trials
            .map((tr) => `${describePoint(tr.point)} → ${tr.stepsToTarget ?? (tr.error ? 'failed' : `>${t.maxSteps}`)}`)
            .join('; '),
      );
    }
    lines.push('', '</details>', '');
  }
  return lines.join('\n');
}

/** The result files of one backend: the reference CPU keeps the historical names. */
function resultPaths(backend: string): { json: string; md: string } {
  const stem = backend === 'cpu' ? 'bench/results/reproduce' : `bench/results/reproduce-${backend}`;
  return { json: `${stem}.json`, md: `${stem}.md` };
}

function readResults(device: LabDevice, paths: { json: string }): TaskResult[] {
  try {
    const previous = JSON.parse(readFileSync(paths.json, 'utf8')) as { device: LabDevice; tasks: TaskResult[] };
    return previous.device.summary === device.summary ? previous.tasks : [];
  } catch {
    return []; // no earlier results
  }
}

export async function runReproduceBench(args: string[]): Promise<void> {
  const flag = (name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
  const which = flag('--backend') ?? 'cpu';
  if (which !== 'webgpu' && which !== 'wasm' && which !== 'cpu') throw new Error(`--backend: expected webgpu, wasm or cpu, got ${which}`);
  const paths = resultPaths(which);
  if (args.includes('--report-only')) {
    // Re-render the markdown from the JSON of an earlier run (e.g. after a change to the report).
    const saved = JSON.parse(readFileSync(paths.json, 'utf8')) as {
      device: LabDevice;
      started: string;
      tasks: TaskResult[];
    };
    writeFileSync(paths.md, markdownReport(saved.device, saved.tasks, saved.started));
    return;
  }
  const taskList = flag('--tasks')?.split(',') ?? PLANS.map((p) => p.task);
  const plans = taskList.map((id) => {
    const plan = PLANS.find((p) => p.task === id);
    if (!plan) throw new Error(`--tasks: no reproduction plan for ${id} (have: ${PLANS.map((p) => p.task).join(', ')})`);
    return plan;
  });
  const seeds = (flag('--seeds') ?? '1,2,3').split(',').map(Number);
  if (seeds.some((s) => !Number.isInteger(s) || s < 0)) throw new Error('--seeds: expected integers, e.g. 1,2,3');

  const backend = await createBackend({ prefer: which, requireWebGPU: which === 'webgpu' });
  const device = deviceOf(backend);
  console.log(`device: ${device.summary}`);
  const started = new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC';
  mkdirSync('bench/results', { recursive: true });
  // Tasks run earlier (e.g. with --tasks) on the same device are kept unless rerun now.
  let results: TaskResult[] = readResults(device, paths).filter((t) => !taskList.includes(t.task));
  for (const plan of plans) {
    console.log(`\n${plan.task} (${TASKS[plan.task].setting}): target ${plan.target}, at most ${plan.steps} steps`);
    const done = await runTask(backend, plan, seeds);
    // Re-read: another run of this benchmark (other tasks) may have written in the meantime.
    results = [...readResults(device, paths).filter((t) => t.task !== plan.task), done];
    results.sort((a, b) => PLANS.findIndex((p) => p.task === a.task) - PLANS.findIndex((p) => p.task === b.task));
    writeFileSync(paths.json, `${JSON.stringify({ device, started, tasks: results }, null, 2)}\n`);
    writeFileSync(paths.md, markdownReport(device, results, started));
  }
  console.log(`\n${markdownReport(device, results, started)}`);
  backend.destroy();
}
