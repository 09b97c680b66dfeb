// The thermodynamic K-FAC lab (docs/curvature-tools.md §6): what the Thermodynamic page and
// `npm run bench -- thermo` run.
//   - thermoRace: Adam, digital K-FAC (Cholesky) and thermodynamic K-FAC at several (b, S), each
//     trained with trainModel from the same initial weights on the same batches, with validation
//     accuracy every few steps and the steps to the task's target;
//   - inverseErrors: the device's relative error ‖M̂⁻¹ − M⁻¹‖_F / ‖M⁻¹‖_F on a model's own π-damped
//     factors, against S and b;
//   - conditionByWidth: the condition numbers κ of the damped factors of the same architecture at
//     growing width, and the cost model digital n³ against analog n² κ² per factor.
import type { Backend } from '../../backend/backend.ts';
import { fitCurvature } from '../../curvature/fit.ts';
import { taskData, throwIfAborted, yieldToEventLoop } from '../../curvature/data.ts';
import { trainModel } from '../../lab/train-model.ts';
import { loadTask, TASKS, type TaskId } from '../../lab/tasks.ts';
import type { PlacedTask } from '../../lab/tasks/definition.ts';
import { hostEigh } from '../../linalg/host-eigh.ts';
import type { Module } from '../../nn/module.ts';
import { Mlp } from '../../nn/models/mlp.ts';
import { Vit } from '../../nn/models/vit.ts';
import { inversionCost, relativeError, ThermodynamicDevice } from '../../optim/kfac/thermodynamic.ts';

export const THERMO_TASKS = ['mlp-mnist', 'mlp-spirals', 'vit-mnist'] as const satisfies readonly TaskId[];
export type ThermoTask = (typeof THERMO_TASKS)[number];

export type ThermoOptimizer = 'adam' | 'kfac' | 'kfac-thermodynamic';

/** One run of the race: Adam, digital K-FAC, or thermodynamic K-FAC at (bits, samples). */
export interface ThermoRunSpec {
  optimizer: ThermoOptimizer;
  /** Thermodynamic only: b (0 = exact) and S. */
  bits?: number;
  samples?: number;
}

export interface ThermoRaceOptions {
  task: ThermoTask;
  runs: readonly ThermoRunSpec[];
  steps: number;
  seed: number;
  /** Validation accuracy every this many steps (and after the last). */
  evalEvery: number;
  /** Validation accuracy to race to (default the task preset's). */
  target?: number;
  /** Device time between samples (default the schema's). */
  dt?: number;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number, what: string, loss?: number) => void;
  /** Called with each run's trained model before it is disposed (e.g. to fit its factors); awaited. */
  onTrained?: (spec: ThermoRunSpec, model: Module, placed: PlacedTask<Module>) => void | Promise<void>;
}

export interface ThermoRun extends ThermoRunSpec {
  label: string;
  /** Training loss per step. */
  losses: number[];
  evalSteps: number[];
  accuracies: number[];
  /** First evaluated step (1-based count of steps taken) with accuracy ≥ target; null if never. */
  stepsToTarget: number | null;
  /** Mean training loss of the last 10 steps. */
  finalLoss: number;
  ms: number;
  /** The diverged error, when training stopped early. */
  error: string | null;
}

export interface ThermoRace {
  task: ThermoTask;
  steps: number;
  seed: number;
  target: number;
  batchSize: number;
  /** The K-FAC and Adam hyperparameters used (the task preset's). */
  hyper: { adam: Record<string, number>; kfac: Record<string, number | string> };
  runs: ThermoRun[];
}

export function runLabel(spec: ThermoRunSpec): string {
  if (spec.optimizer === 'adam') return 'Adam';
  if (spec.optimizer === 'kfac') return 'K-FAC (digital)';
  return `thermodynamic b=${spec.bits === 0 ? '∞' : spec.bits}, S=${spec.samples}`;
}

/** The task preset's K-FAC of the task's own setting and its Adam. */
function presetHyper(task: ThermoTask, dt?: number) {
  const def = TASKS[task];
  const kfacPreset = def.setting === 'reduce' ? def.preset.reduce : def.preset.expand;
  const kfac: Record<string, number | string> = { lr: kfacPreset.lr, damping: kfacPreset.damping };
  if (kfacPreset.klClip !== undefined) kfac.klClip = kfacPreset.klClip;
  if (dt !== undefined) kfac.thermoDt = dt;
  return { adam: { lr: def.preset.adam }, kfac, id: def.setting === 'reduce' ? ('kfac-reduce' as const) : ('kfac-expand' as const) };
}

export async function thermoRace(backend: Backend, options: ThermoRaceOptions): Promise<ThermoRace> {
  const { task, runs, steps, seed, evalEvery, signal } = options;
  const def = TASKS[task];
  const target = options.target ?? def.preset.target;
  const hyper = presetHyper(task, options.dt);
  const loaded = await loadTask(task);
  const placed = loaded.place(backend);
  const batchSize = def.defaultBatchSize;
  const total = runs.length * steps;
  const out: ThermoRun[] = [];
  try {
    for (const [r, spec] of runs.entries()) {
      const label = runLabel(spec);
      const model = placed.buildModel(seed);
      const evalSteps: number[] = [];
      const accuracies: number[] = [];
      let stepsToTarget: number | null = null;
      let error: string | null = null;
      const optimizer = spec.optimizer === 'adam' ? 'adam' : hyper.id;
      const settings =
        spec.optimizer === 'adam'
          ? hyper.adam
          : spec.optimizer === 'kfac'
            ? { ...hyper.kfac, inverseMethod: 'cholesky' }
            : { ...hyper.kfac, inverseMethod: 'thermodynamic', thermoBits: spec.bits ?? 8, thermoSamples: spec.samples ?? 1000 };
      let losses: number[] = [];
      let ms = 0;
      try {
        const result = await trainModel({
          model,
          batch: (rows) => placed.batch(model, rows),
          examples: loaded.trainSize,
          batchSize,
          steps,
          seed,
          optimizer,
          hyper: settings,
          signal,
          onStep: async (step, loss) => {
            losses.push(loss);
            const taken = step + 1;
            if (taken % evalEvery === 0 || taken === steps) {
              const acc = await placed.evaluate(model);
              evalSteps.push(taken);
              accuracies.push(acc);
              if (stepsToTarget === null && acc >= target) stepsToTarget = taken;
            }
            options.onProgress?.(r * steps + taken, total, label, loss);
          },
        });
        losses = result.losses;
        ms = result.ms;
        await options.onTrained?.(spec, model, placed as PlacedTask<Module>);
      } catch (e) {
        if (signal?.aborted) throw e;
        error = e instanceof Error ? e.message : String(e);
      } finally {
        model.dispose();
      }
      const tail = losses.slice(-10);
      out.push({
        ...spec,
        label,
        losses,
        evalSteps,
        accuracies,
        stepsToTarget,
        finalLoss: tail.length > 0 ? tail.reduce((a, b) => a + b, 0) / tail.length : Number.NaN,
        ms,
        error,
      });
    }
  } finally {
    placed.dispose();
  }
  return { task, steps, seed, target, batchSize, hyper: { adam: hyper.adam, kfac: hyper.kfac }, runs: out };
}

// ---- the device's error on a model's own factors -----------------------------------------------------

/** A π-damped factor as the device gets it (docs/kfac.md §4 step 2). */
export interface DampedFactor {
  layer: string;
  factor: 'A' | 'G';
  n: number;
  /** Row-major n×n. */
  matrix: Float64Array;
  /** ℓ_max / ℓ_min of the damped factor. */
  condition: number;
}

/** The π-damped factors of a model over `examples` training examples (MC Fisher, the task's setting). */
export async function dampedFactors<M extends Module>(
  placed: PlacedTask<M>,
  model: M,
  options: { examples: number; damping: number; approx: 'expand' | 'reduce'; seed: number; signal?: AbortSignal },
): Promise<DampedFactor[]> {
  const data = taskData(placed, model, { examples: options.examples, batchSize: 128 });
  const curvature = await fitCurvature(model, data, { approx: options.approx, fisher: 'mc', seed: options.seed, signal: options.signal });
  try {
    const out: DampedFactor[] = [];
    const root = Math.sqrt(options.damping);
    for (const layer of curvature.layers) {
      const [a, g] = [Float64Array.from(await layer.A.read()), Float64Array.from(await layer.G.read())];
      const [nA, nG] = [layer.A.shape[0], layer.G.shape[0]];
      const mean = (m: Float64Array, n: number) => [...Array(n).keys()].reduce((s, i) => s + m[i * n + i], 0) / n;
      const [meanA, meanG] = [mean(a, nA), mean(g, nG)];
      const pi = meanA > 0 && meanG > 0 ? Math.sqrt(meanA / meanG) : 1;
      for (const [factor, m, n, shift] of [
        ['A', a, nA, pi * root],
        ['G', g, nG, root / pi],
      ] as const) {
        const damped = Float64Array.from(m);
        for (let i = 0; i < n; i++) damped[i * n + i] += shift;
        const { values } = hostEigh(damped, n);
        out.push({ layer: layer.name, factor, n, matrix: damped, condition: values[0] / Math.max(values[n - 1], 1e-300) });
      }
    }
    return out;
  } finally {
    curvature.dispose();
  }
}

/** M⁻¹ by the host eigendecomposition (M symmetric positive definite). */
export function exactInverse(m: Float64Array, n: number): Float64Array {
  const { values, vectors } = hostEigh(m, n);
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += (vectors[i * n + k] * vectors[j * n + k]) / values[k];
      out[i * n + j] = out[j * n + i] = s;
    }
  }
  return out;
}

export interface InverseErrorGrid {
  samples: number[];
  bits: number[];
  /** errors[b][s]: the relative error, mean over factors and seeds. */
  errors: number[][];
  /** Per factor: errors[b][s], mean over seeds. */
  factors: { layer: string; factor: 'A' | 'G'; n: number; condition: number; errors: number[][] }[];
}

/** The device's relative error on each factor for every (b, S), mean over `seeds` cold-started devices. */
export async function inverseErrors(
  factors: readonly DampedFactor[],
  options: {
    samples: readonly number[];
    bits: readonly number[];
    seeds: number;
    dt?: number;
    signal?: AbortSignal;
    onProgress?: (done: number, total: number) => void;
  },
): Promise<InverseErrorGrid> {
  const { samples, bits, seeds } = options;
  const total = factors.length * bits.length * samples.length;
  let done = 0;
  const perFactor: InverseErrorGrid['factors'] = [];
  for (const f of factors) {
    const exact = exactInverse(f.matrix, f.n);
    const errors = bits.map(() => samples.map(() => 0));
    for (const [bi, b] of bits.entries()) {
      for (const [si, s] of samples.entries()) {
        throwIfAborted(options.signal, 'inverse errors');
        for (let seed = 0; seed < seeds; seed++) {
          const device = new ThermodynamicDevice({ samples: s, bits: b, dt: options.dt, hotStart: false, seed });
          errors[bi][si] += relativeError(device.inverse('M', f.matrix, f.n).result, exact) / seeds;
        }
        options.onProgress?.(++done, total);
        await yieldToEventLoop();
      }
    }
    perFactor.push({ layer: f.layer, factor: f.factor, n: f.n, condition: f.condition, errors });
  }
  const errors = bits.map((_, bi) => samples.map((_, si) => perFactor.reduce((a, f) => a + f.errors[bi][si], 0) / perFactor.length));
  return { samples: [...samples], bits: [...bits], errors, factors: perFactor };
}

// ---- condition numbers and cost as width grows ------------------------------------------------------

export interface WidthCost {
  width: number;
  factors: { layer: string; factor: 'A' | 'G'; n: number; condition: number; digital: number; analog: number }[];
}

/** The task's architecture with hidden width `width` (MLP hidden units, ViT embedding dim). */
export function modelOfWidth(task: ThermoTask, backend: Backend, seed: number, width: number): Module {
  if (task === 'mlp-mnist') return new Mlp({ backend, seed }, { widths: [196, width, width, 10], activation: 'relu' });
  if (task === 'mlp-spirals') return new Mlp({ backend, seed }, { widths: [2, width, width, 2], activation: 'tanh' });
  return new Vit({ backend, seed }, { inChannels: 1, height: 28, width: 28, patch: 7, dim: width, depth: 2, heads: 4, classes: 10 });
}

/**
 * For each width: briefly train the architecture with Adam (so the factors are a trained model's,
 * not the initialisation's), fit its π-damped factors and report κ and the two costs per factor.
 */
export async function conditionByWidth(
  backend: Backend,
  options: {
    task: ThermoTask;
    widths: readonly number[];
    seed: number;
    trainSteps: number;
    examples: number;
    signal?: AbortSignal;
    onProgress?: (done: number, total: number, what: string) => void;
  },
): Promise<WidthCost[]> {
  const { task, widths, seed } = options;
  const def = TASKS[task];
  const hyper = presetHyper(task);
  const loaded = await loadTask(task);
  const placed = loaded.place(backend) as PlacedTask<Module>;
  const out: WidthCost[] = [];
  try {
    for (const [i, width] of widths.entries()) {
      options.onProgress?.(i, widths.length, `width ${width}`);
      const model = modelOfWidth(task, backend, seed, width);
      try {
        await trainModel({
          model,
          batch: (rows) => placed.batch(model, rows),
          examples: loaded.trainSize,
          batchSize: def.defaultBatchSize,
          steps: options.trainSteps,
          seed,
          optimizer: 'adam',
          hyper: hyper.adam,
          signal: options.signal,
        });
        const factors = await dampedFactors(placed, model, {
          examples: Math.min(options.examples, loaded.trainSize),
          damping: Number(hyper.kfac.damping),
          approx: def.setting === 'reduce' ? 'reduce' : 'expand',
          seed,
          signal: options.signal,
        });
        out.push({
          width,
          factors: factors.map((f) => ({
            layer: f.layer,
            factor: f.factor,
            n: f.n,
            condition: f.condition,
            ...inversionCost(f.n, f.condition),
          })),
        });
      } finally {
        model.dispose();
      }
    }
    options.onProgress?.(widths.length, widths.length, 'done');
  } finally {
    placed.dispose();
  }
  return out;
}

/**
 * The share of digital K-FAC's step advantage over Adam that a run keeps:
 * (steps_Adam − steps_run) / (steps_Adam − steps_K-FAC). null when a count is missing or K-FAC has no advantage.
 */
export function keptAdvantage(adam: number | null, kfac: number | null, run: number | null): number | null {
  if (adam === null || kfac === null || run === null || !(adam > kfac)) return null;
  return (adam - run) / (adam - kfac);
}
