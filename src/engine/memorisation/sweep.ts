// The memorisation experiment end to end (docs/curvature-tools.md §4): train the experiment's model
// (trainModel) or take a given one, fit K-FAC over the training set with labels sampled from the
// model (the true Fisher, MC) and the bias separate, then edit the chosen layers at each keep-mass ρ
// with the pairwise K-FAC edit, the rectangle variant and the truncated SVD at the pairwise edit's
// kept rank, and measure the four accuracies after each edit. Also the diagnostics per curvature
// band: the share of W's energy and the activation strength of memorised vs clean examples.
// Used by `npm run edit`, the Memorisation page's job and `npm run bench -- edit`.
import type { Backend } from '../backend/backend.ts';
import { noGrad } from '../autograd/variable.ts';
import { fitCurvature, type KroneckerCurvature } from '../curvature/toolkit.ts';
import { throwIfAborted } from '../curvature/data.ts';
import { trainModel } from '../lab/train-model.ts';
import { TASKS } from '../lab/tasks.ts';
import { withCurvatureCapture, type KfacForwardCapture } from '../nn/curvature-hook.ts';
import type { Module } from '../nn/module.ts';
import { keep, scope, type Tensor } from '../tensor.ts';
import {
  applyEdit,
  EDIT_METHODS,
  layerBasis,
  planEdit,
  restoreLayerWeights,
  saveLayerWeights,
  type EditMethod,
} from '../tools/edit/edit.ts';
import {
  bandActivations,
  bandEnergyShares,
  curvatureBands,
  eigenCoefficients,
  numericalRank,
  selectPairwise,
  selectRectangle,
  type LayerBasis,
} from '../tools/edit/kronecker-edit.ts';
import { EXPERIMENTS, placeExperiment, type ExperimentId, type FourAccuracies, type PlacedExperiment } from './experiments.ts';

/** The ρ grid of the sweep. */
export const DEFAULT_RHOS: readonly number[] = [0.5, 0.6, 0.7, 0.8, 0.9, 1];

export interface SweepProgress {
  stage: string;
  done: number;
  total: number;
  /** While training: the step's loss. */
  loss?: number;
}

export interface SweepOptions {
  experiment: ExperimentId;
  backend: Backend;
  /** Seeds the model, the batch order and the MC labels. */
  seed: number;
  rhos?: readonly number[];
  /** K-FAC layer positions to edit (default: the experiment's). */
  layers?: readonly number[];
  methods?: readonly EditMethod[];
  /** A trained model of the experiment's base task; trained here when absent (the caller keeps a given one). */
  model?: Module;
  /** Training steps when training here (default: the experiment's recipe). */
  steps?: number;
  signal?: AbortSignal;
  onProgress?: (p: SweepProgress) => void;
}

export interface SweepRow extends FourAccuracies {
  method: EditMethod;
  rho: number;
  /** Σ over the edited layers of the edited weight's numerical rank (the SVD baseline keeps the same per layer). */
  keptRank: number;
  /** Σ over the edited layers; for SVD: kept singular directions. */
  keptPairs: number;
  totalPairs: number;
  /** Kept share of the curvature, pooled over the edited layers ((Σ_layers kept) / (Σ_layers total)); NaN for SVD. */
  keptMass: number;
  /** Per edited layer: the numerical rank of the edited weight. */
  layerRanks: number[];
  /** Share of ‖W‖² removed, pooled over the edited layers. */
  removedEnergy: number;
}

export interface LayerDiagnostics {
  index: number;
  name: string;
  dOut: number;
  dIn: number;
  /** κ (G) and μ (A), descending. */
  kappa: number[];
  mu: number[];
  /** Band edges: levels[b] is the ρ at which band b is the last one kept (ascending, < 1). */
  levels: number[];
  /** Band of every component (i, j), [dOut][dIn] flattened row-major (band levels.length: removed at every ρ < 1). */
  bands: number[];
  /** Share of ‖W‖² per band. */
  energyShare: number[];
  /** Mean ‖(C ⊙ M_band) Q_Aᵀ a‖² over the layer's input rows a of memorised and of clean examples. */
  activation: { memorised: number[]; clean: number[] };
  /** Per ρ (same order as the result's rhos): the pairwise and rectangle masks' kept pairs. */
  kept: { rho: number; pairwise: number; rectangle: number }[];
}

export interface SweepResult {
  experiment: ExperimentId;
  seed: number;
  rhos: number[];
  layers: LayerDiagnostics[];
  /** The unedited model. */
  baseline: FourAccuracies;
  rows: SweepRow[];
  trainMs: number | null;
  fitMs: number;
  editMs: number;
}

/** Train the experiment's model of a seed with its recipe (trainModel), or `steps` steps of it. */
export async function trainExperimentModel(
  placed: PlacedExperiment,
  seed: number,
  options: { steps?: number; signal?: AbortSignal; onStep?: (step: number, loss: number) => void } = {},
): Promise<{ model: Module; ms: number; losses: number[] }> {
  const recipe = placed.data.definition.training;
  const model = placed.buildModel(seed);
  try {
    const { ms, losses } = await trainModel({
      model,
      batch: (rows) => placed.batch(model, rows),
      examples: placed.data.trainSize,
      batchSize: recipe.batchSize,
      steps: options.steps ?? recipe.steps,
      seed,
      optimizer: recipe.optimizer,
      hyper: recipe.hyper,
      signal: options.signal,
      onStep: options.onStep,
    });
    return { model, ms, losses };
  } catch (e) {
    model.dispose();
    throw e;
  }
}

/** K-FAC over the whole training set, labels sampled from the model (true Fisher), bias separate. */
export async function fitExperimentCurvature(
  placed: PlacedExperiment,
  model: Module,
  seed: number,
  control: { signal?: AbortSignal; onProgress?: (p: { done: number; total: number }) => void } = {},
): Promise<KroneckerCurvature> {
  const setting = TASKS[placed.data.definition.baseTask].setting;
  return fitCurvature(model, placed.curvatureData(model), {
    approx: setting,
    setting,
    fisher: 'mc',
    mcSamples: 1,
    bias: 'separate',
    seed,
    signal: control.signal,
    onProgress: control.onProgress,
  });
}

/** Run the whole sweep (see the file comment). */
export async function runEditSweep(options: SweepOptions): Promise<SweepResult> {
  const { backend, seed, signal } = options;
  const definition = EXPERIMENTS[options.experiment];
  const rhos = [...(options.rhos ?? DEFAULT_RHOS)].sort((a, b) => a - b);
  for (const r of rhos) if (!(r > 0 && r <= 1)) throw new Error(`runEditSweep: ρ must be in (0, 1], got ${r}`);
  const methods = options.methods ?? EDIT_METHODS;
  const report = options.onProgress ?? (() => undefined);
  const placed = await placeExperiment(options.experiment, backend);
  let model = options.model ?? null;
  let trainMs: number | null = null;
  let curvature: KroneckerCurvature | null = null;
  const owned = !options.model;
  try {
    if (!model) {
      const steps = options.steps ?? definition.training.steps;
      const trained = await trainExperimentModel(placed, seed, {
        steps,
        signal,
        onStep: (step, loss) => report({ stage: 'training', done: step + 1, total: steps, loss }),
      });
      model = trained.model;
      trainMs = trained.ms;
    }
    curvature = await fitExperimentCurvature(placed, model, seed, {
      signal,
      onProgress: (p) => report({ stage: 'K-FAC factors (true Fisher)', ...p }),
    });
    const layers = options.layers ?? definition.defaultLayers;
    for (const l of layers)
      if (!curvature.layers[l]) throw new Error(`runEditSweep: no K-FAC layer ${l} (the model has ${curvature.layers.length})`);
    const started = performance.now();
    const chosen = layers.map((l) => curvature!.layers[l]);
    const original = await saveLayerWeights(model, chosen);
    const bases = new Map<number, LayerBasis>();
    for (const l of layers) bases.set(l, await layerBasis(curvature.layers[l]));

    const baseline = await placed.accuracies(model);
    const fullRanks = chosen.map((layer) => numericalRank(original.get(`${layer.name}.weight`)!.values, layer.dOut, layer.dIn));
    const rows: SweepRow[] = [];
    const edits = rhos.filter((r) => r < 1);
    const total = edits.length * methods.length;
    let done = 0;
    for (const rho of rhos) {
      throwIfAborted(signal, 'edit sweep');
      if (rho >= 1) {
        for (const method of methods)
          rows.push({
            method,
            rho,
            ...baseline,
            keptRank: sum(fullRanks),
            keptPairs: sum(chosen.map((l) => (method === 'svd' ? Math.min(l.dOut, l.dIn) : l.dOut * l.dIn))),
            totalPairs: sum(chosen.map((l) => (method === 'svd' ? Math.min(l.dOut, l.dIn) : l.dOut * l.dIn))),
            keptMass: method === 'svd' ? Number.NaN : 1,
            layerRanks: fullRanks,
            removedEnergy: 0,
          });
        continue;
      }
      let pairwiseRanks: number[] | null = null;
      // The pairwise edit runs first: the SVD baseline is matched to its ranks.
      const ordered = [...methods].sort((a, b) => (a === 'kfac' ? -1 : b === 'kfac' ? 1 : 0));
      for (const method of ordered) {
        report({ stage: `editing (${method}, ρ = ${rho})`, done, total });
        if (method === 'svd' && !pairwiseRanks) {
          const kfac = await planEdit(curvature, original, { layers, method: 'kfac', rho }, bases);
          pairwiseRanks = kfac.map((e) => e.keptRank);
        }
        const edited = await planEdit(curvature, original, { layers, method, rho, ranks: pairwiseRanks ?? undefined }, bases);
        if (method === 'kfac') pairwiseRanks = edited.map((e) => e.keptRank);
        applyEdit(model, curvature, edited);
        const acc = await placed.accuracies(model);
        restoreLayerWeights(model, original);
        const massTotal = edited.map((e) => curvatureTotal(bases.get(e.index)!));
        rows.push({
          method,
          rho,
          ...acc,
          keptRank: sum(edited.map((e) => e.keptRank)),
          keptPairs: sum(edited.map((e) => e.keptPairs)),
          totalPairs: sum(edited.map((e) => e.totalPairs)),
          keptMass: method === 'svd' ? Number.NaN : sum(edited.map((e, k) => e.keptMass * massTotal[k])) / sum(massTotal),
          layerRanks: edited.map((e) => e.keptRank),
          removedEnergy: sum(edited.map((e) => e.energy.removed)) / sum(edited.map((e) => e.energy.total)),
        });
        done++;
      }
    }
    report({ stage: 'band diagnostics', done: total, total });
    const diagnostics: LayerDiagnostics[] = [];
    for (const l of layers) {
      const layer = curvature.layers[l];
      const basis = bases.get(l)!;
      const w = original.get(`${layer.name}.weight`)!.values;
      const levels = edits.length > 0 ? edits : [0.9];
      const bands = curvatureBands(basis.kappa, basis.mu, levels);
      const coefficients = eigenCoefficients(w, basis);
      const activationOf = async (rowsOf: Int32Array) => {
        const inputs = await layerInputs(placed, model!, layer.name, rowsOf.subarray(0, 256));
        return bandActivations(coefficients, basis, bands, levels.length + 1, inputs.values, inputs.rows);
      };
      diagnostics.push({
        index: l,
        name: layer.name,
        dOut: layer.dOut,
        dIn: layer.dIn,
        kappa: Array.from(basis.kappa),
        mu: Array.from(basis.mu),
        levels,
        bands: Array.from(bands),
        energyShare: bandEnergyShares(coefficients, bands, levels.length + 1),
        activation: { memorised: await activationOf(placed.data.memorised), clean: await activationOf(placed.data.clean) },
        kept: rhos.map((rho) => ({
          rho,
          pairwise: selectPairwise(basis.kappa, basis.mu, rho).keptPairs,
          rectangle: selectRectangle(basis.kappa, basis.mu, rho).keptPairs,
        })),
      });
    }
    return {
      experiment: options.experiment,
      seed,
      rhos,
      layers: diagnostics,
      baseline,
      rows,
      trainMs,
      fitMs: curvature.fitMs,
      editMs: performance.now() - started,
    };
  } finally {
    curvature?.dispose();
    if (owned) model?.dispose();
  }
}

/** (Σκ)(Σμ): the layer's total curvature mass. */
function curvatureTotal(basis: LayerBasis): number {
  let k = 0;
  let m = 0;
  for (let i = 0; i < basis.kappa.length; i++) k += basis.kappa[i];
  for (let j = 0; j < basis.mu.length; j++) m += basis.mu[j];
  return k * m;
}

/** The inputs a K-FAC layer sees for these training rows, [rows · R, dIn] on the host (one forward pass, no gradients). */
async function layerInputs(
  placed: PlacedExperiment,
  model: Module,
  name: string,
  rows: Int32Array,
): Promise<{ values: Float64Array; rows: number }> {
  const batch = placed.batch(model, rows);
  try {
    const input = scope(() => {
      let found: Tensor | null = null;
      const capture = (c: KfacForwardCapture) => {
        if (c.layer.name === name) found = c.input;
      };
      withCurvatureCapture({ capture }, () => noGrad(() => batch.forward()));
      if (!found) throw new Error(`edit: layer "${name}" did not run in the forward pass`);
      return keep(found as Tensor);
    });
    const values = Float64Array.from(await input.read());
    const count = input.shape[0];
    input.dispose();
    return { values, rows: count };
  } finally {
    batch.dispose();
  }
}

function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0);
}
