// Pruning with second-order information (docs/curvature-tools.md §5): scores, the choice of which
// weights to remove (per layer or over all layers), optimal-brain-surgeon compensation, several
// small steps with re-estimated curvature, and masks kept on the model.
//
// Scores (F the method's curvature of the layer's weights, damping λ included):
//   magnitude ρ_q = w_q²;  diag-fisher ρ_q = w_q² F_qq / 2;  OBS (woodfisher, kfac-obs, ggn-obs)
//   ρ_q = w_q² / (2 [F⁻¹]_qq), the least increase of ½ δwᵀ F δw over updates with δw_q = −w_q.
// The floor(s·n) weights of smallest score are removed (ties by index). The OBS methods then add the
// sum of the single-weight updates δw = −Σ_q (w_q / [F⁻¹]_qq) F⁻¹ e_q = −F⁻¹ v; every removed weight
// is finally set to exactly 0. As λ → ∞, F⁻¹ → I/λ (and F → λI), every score becomes ∝ w_q² and the
// update only zeroes: OBS turns into magnitude pruning.
import type { Module } from '../../nn/module.ts';
import type { CurvatureData, RunControl } from '../../curvature/data.ts';
import {
  estimatePruneCurvature,
  isObsMethod,
  type CurvatureOptions,
  type PruneCurvature,
  type PruneMethod,
  type PrunableLayer,
} from './curvature.ts';

export type PruneScope = 'layer' | 'global';

/** Host float64 weights and 0/1 masks (1 = kept) of every prunable layer, row-major [dOut·dIn]. */
export interface PruneState {
  weights: Float64Array[];
  masks: Uint8Array[];
}

export interface PruneStepResult extends PruneState {
  /** The score of every weight in this step (already-pruned weights: 0). */
  scores: Float64Array[];
  /**
   * The method's own estimate of the loss increase of this step: Σ ρ_q over the newly removed
   * weights (OBS: with compensation, diag-fisher: without); null for magnitude.
   */
  predictedIncrease: number | null;
  /** Weights removed in this step. */
  removed: number;
}

/** The weights and all-ones masks of the model's prunable layers, read from the device. */
export async function readPruneState(layers: readonly PrunableLayer[]): Promise<PruneState> {
  const weights: Float64Array[] = [];
  for (const l of layers) weights.push(Float64Array.from(await l.weight.value.read()));
  return { weights, masks: weights.map((w) => new Uint8Array(w.length).fill(1)) };
}

/** Write host weights into the model's layers (the biases are untouched). */
export function writeWeights(layers: readonly PrunableLayer[], weights: readonly Float64Array[]): void {
  layers.forEach((l, k) => {
    const v = l.weight;
    v.assign(v.backend.tensor(weights[k], v.shape, v.value.dtype));
  });
}

/** Zero the masked weights on the device, in place of the variables (the after-step hook of fine-tuning). */
export function applyMasks(layers: readonly PrunableLayer[], masks: readonly Uint8Array[]): void {
  layers.forEach((l, k) => {
    const v = l.weight;
    const be = v.backend;
    const mask = be.tensor(masks[k], v.shape, v.value.dtype);
    try {
      v.assign(be.binary('mul', v.value, mask));
    } finally {
      mask.dispose();
    }
  });
}

/** Every weight's score under a method (docs/curvature-tools.md §5); already-pruned weights score 0. */
export function pruneScores(method: PruneMethod, weight: Float64Array, diagonal: Float64Array | null, mask?: Uint8Array): Float64Array {
  const scores = new Float64Array(weight.length);
  for (let q = 0; q < weight.length; q++) {
    if (mask && mask[q] === 0) continue;
    const w2 = weight[q] * weight[q];
    if (method === 'magnitude') scores[q] = w2;
    else if (method === 'diag-fisher') scores[q] = (w2 * diagonal![q]) / 2;
    else scores[q] = w2 / (2 * diagonal![q]);
  }
  return scores;
}

/**
 * The masks after removing the floor(s·n) weights of smallest score per layer (n = the layer's
 * weights) or over all layers (n = all weights); weights already masked count as removed first.
 * Ties go by index (layer by layer in model order, then row-major).
 */
export function selectMasks(
  scores: readonly Float64Array[],
  previous: readonly Uint8Array[],
  sparsity: number,
  scope: PruneScope,
): Uint8Array[] {
  if (!(sparsity >= 0 && sparsity <= 1)) throw new Error(`prune: sparsity must be in [0, 1], got ${sparsity}`);
  const masks = previous.map((m) => Uint8Array.from(m));
  const groups = scope === 'layer' ? scores.map((_, k) => [k]) : [scores.map((_, k) => k)];
  for (const group of groups) {
    const entries: { layer: number; q: number; score: number }[] = [];
    for (const k of group) {
      const s = scores[k];
      for (let q = 0; q < s.length; q++) entries.push({ layer: k, q, score: previous[k][q] === 0 ? -Infinity : s[q] });
    }
    const count = Math.floor(sparsity * entries.length + 1e-9);
    entries.sort((a, b) => a.score - b.score || a.layer - b.layer || a.q - b.q);
    for (let i = 0; i < count; i++) masks[entries[i].layer][entries[i].q] = 0;
  }
  return masks;
}

export interface PruneStepOptions {
  sparsity: number;
  scope: PruneScope;
  /** OBS methods: apply the compensating update (default true). */
  compensate?: boolean;
}

/** One pruning step from `state` with a curvature estimated at those weights; pure (the model is not touched). */
export async function pruneStep(state: PruneState, curvature: PruneCurvature, options: PruneStepOptions): Promise<PruneStepResult> {
  const method = curvature.method;
  const scores = state.weights.map((w, k) => pruneScores(method, w, curvature.layers[k].diagonal, state.masks[k]));
  const masks = selectMasks(scores, state.masks, options.sparsity, options.scope);
  const weights = state.weights.map((w) => Float64Array.from(w));
  let predicted = 0;
  let removed = 0;
  for (const [k, w] of weights.entries()) {
    const layer = curvature.layers[k];
    const v = new Float64Array(w.length);
    let any = false;
    for (let q = 0; q < w.length; q++) {
      if (masks[k][q] === 0 && state.masks[k][q] === 1) {
        removed++;
        predicted += scores[k][q];
        if (isObsMethod(method)) {
          v[q] = w[q] / layer.diagonal![q];
          any = true;
        }
      }
    }
    if ((options.compensate ?? true) && any && layer.applyInverse) {
      const inverseV = await layer.applyInverse(v);
      for (let q = 0; q < w.length; q++) w[q] -= inverseV[q];
    }
    for (let q = 0; q < w.length; q++) if (masks[k][q] === 0) w[q] = 0;
  }
  return { weights, masks, scores, predictedIncrease: method === 'magnitude' ? null : predicted, removed };
}

export interface PruneModelOptions extends RunControl, Omit<CurvatureOptions, 'masks' | keyof RunControl> {
  method: PruneMethod;
  sparsity: number;
  scope: PruneScope;
  compensate?: boolean;
  /** Reach the sparsity in this many equal steps, re-estimating the curvature before each (default 1: one shot). */
  steps?: number;
}

export interface PruneModelResult extends PruneStepResult {
  /** Σ of the steps' predicted increases (null for magnitude). */
  predictedIncrease: number | null;
  /** Time spent estimating curvature, ms (all steps). */
  curvatureMs: number;
}

/**
 * Prune the model's K-FAC layers in place: `steps` times, estimate the method's curvature at the
 * current weights (with the removed weights' gradients masked out), remove weights up to sparsity
 * s·t/steps and compensate. Returns the final weights, masks and the last step's scores.
 */
export async function pruneModel(
  model: Module,
  data: CurvatureData,
  layers: readonly PrunableLayer[],
  options: PruneModelOptions,
): Promise<PruneModelResult> {
  const steps = options.steps ?? 1;
  if (!(Number.isInteger(steps) && steps >= 1)) throw new Error(`prune: steps must be a whole number ≥ 1, got ${steps}`);
  let state = await readPruneState(layers);
  let last: PruneStepResult | null = null;
  let predicted: number | null = options.method === 'magnitude' ? null : 0;
  let curvatureMs = 0;
  for (let t = 1; t <= steps; t++) {
    const curvature = await estimatePruneCurvature(options.method, model, data, layers, {
      ...options,
      masks: t > 1 ? state.masks : undefined,
    });
    try {
      curvatureMs += curvature.ms;
      last = await pruneStep(state, curvature, {
        sparsity: (options.sparsity * t) / steps,
        scope: options.scope,
        compensate: options.compensate,
      });
    } finally {
      curvature.dispose();
    }
    if (predicted !== null) predicted += last.predictedIncrease ?? 0;
    state = last;
    writeWeights(layers, state.weights);
  }
  return { ...last!, predictedIncrease: predicted, curvatureMs };
}
