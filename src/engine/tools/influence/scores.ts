// Influence scores (docs/curvature-tools.md §3): for queries q and training examples n,
//   score(q, n) = ∇_θ m_qᵀ (H + λI)⁻¹ ∇_θ ℓ_n,
// θ the parameters of the model's K-FAC layers, m_q the query's loss and ℓ_n example n's loss (each
// the sum of its terms, no factor c), H the curvature of the training loss as its batches reduce it.
// Positive: removing n would raise the query's loss (n helped). Not divided by N.
//
// The order of work keeps the cost at Q preconditioned vectors plus one pass over the training set:
// the Q query gradients are preconditioned once per layer (Q ≪ N), then the training set streams
// through in its own batches, each batch's per-example gradients [B, dOut, width] on the device
// multiplied against the preconditioned queries ([Q, P_l] · [B, P_l]ᵀ per layer) and only the
// [Q, B] block of scores read back. No N×P matrix is ever formed.
//
// H per method: 'identity' H = 0 (gradient dot product / λ); 'kfac' per layer (G ⊗ A + λI)⁻¹ with
// exact damping in the eigenbasis; 'ekfac' EK-FAC's Λ in K-FAC's eigenbasis (docs/curvature-tools.md
// §1); 'ggn' the dense exact GGN of all K-FAC parameters (tiny float64 CPU models; the reference).
// kfac and ekfac treat the layers as independent blocks.
import { noGrad } from '../../autograd/variable.ts';
import { CpuBackend } from '../../backend/cpu/cpu-backend.ts';
import {
  batchTerms,
  forEachBatch,
  LossScaleTracker,
  throwIfAborted,
  type CurvatureBatch,
  type CurvatureData,
  type RunControl,
} from '../../curvature/data.ts';
import { exactCurvatureMatrix } from '../../curvature/exact-ggn.ts';
import type { BiasMode, FisherType, KfacApprox, LossSetting } from '../../curvature/factors.ts';
import { fitCurvature, fitEkfac, perExampleGradients, type EkfacCurvature, type KroneckerCurvature } from '../../curvature/toolkit.ts';
import type { PerExampleLayerGradients } from '../../curvature/per-example.ts';
import { lossSpec } from '../../nn/losses.ts';
import type { Module } from '../../nn/module.ts';
import { keep, readAndDispose, scope, type Tensor } from '../../tensor.ts';
import { exampleLosses } from './example-loss.ts';

export type InfluenceMethod = 'identity' | 'kfac' | 'ekfac' | 'ggn';
export const INFLUENCE_METHODS: readonly InfluenceMethod[] = ['identity', 'kfac', 'ekfac', 'ggn'];

/** Which phase a progress report is about. */
export interface InfluenceProgress {
  phase: 'curvature' | 'ekfac' | 'ggn' | 'queries' | 'scores';
  done: number;
  total: number;
}

export interface InfluenceOptions {
  model: Module;
  /** The training examples in index order: example n is the n-th example over the batches. */
  train: CurvatureData;
  /** One example per query. */
  queries: CurvatureData;
  method: InfluenceMethod;
  /** λ, absolute (≥ 0; identity needs λ > 0). See meanCurvatureEigenvalue for a scale-free choice. */
  damping: number;
  /** K-FAC options of the fit (defaults: expand, type-2, folded; fitCurvature's setting). */
  approx?: KfacApprox;
  setting?: LossSetting;
  fisher?: FisherType;
  bias?: BiasMode;
  mcSamples?: number;
  seed?: number;
  /** The data H is fitted on (default `train`). */
  curvatureData?: CurvatureData;
  /** A K-FAC fit to reuse (kfac, ekfac); not disposed here. Its bias mode wins over `bias`. */
  curvature?: KroneckerCurvature;
  /** An EK-FAC fit to reuse (ekfac, with `curvature`); not disposed here. */
  ekfac?: EkfacCurvature;
  signal?: AbortSignal;
  onProgress?: (p: InfluenceProgress) => void;
}

export interface InfluenceResult {
  method: InfluenceMethod;
  damping: number;
  /** Q and N. */
  queries: number;
  examples: number;
  /** [Q·N] row-major: scores[q·N + n]. */
  scores: Float64Array;
  /** m_q at the model's weights, [Q]. */
  queryLoss: Float64Array;
  /** Fitting H (0 when a fit was passed in), and preconditioning plus streaming the training set, seconds. */
  fitSeconds: number;
  scoreSeconds: number;
}

/** One layer's preconditioned query gradients: [Q, dOut·width] (and [Q, dOut] for a separate bias). */
interface PreconditionedLayer {
  name: string;
  weight: Tensor;
  bias: Tensor | null;
}

/** The influence of every training example on every query (see the file comment). */
export async function influenceScores(o: InfluenceOptions): Promise<InfluenceResult> {
  const { model, method, damping, signal } = o;
  if (!(damping >= 0) || !Number.isFinite(damping)) throw new Error(`influenceScores: damping must be a finite number ≥ 0, got ${damping}`);
  if (method === 'identity' && damping === 0) throw new Error('influenceScores: the identity method needs damping > 0 (it divides by λ)');
  if (!(INFLUENCE_METHODS as readonly string[]).includes(method))
    throw new Error(`influenceScores: unknown method "${String(method)}" (expected ${INFLUENCE_METHODS.join(', ')})`);
  const bias: BiasMode = o.curvature?.options.bias ?? o.bias ?? 'folded';
  const fitData = o.curvatureData ?? o.train;
  const report = (phase: InfluenceProgress['phase']) => (p: { done: number; total: number }) => o.onProgress?.({ phase, ...p });

  const fitStart = performance.now();
  let curvature = o.curvature ?? null;
  let ekfac = o.ekfac ?? null;
  const ownCurvature = !o.curvature && (method === 'kfac' || method === 'ekfac');
  const ownEkfac = !o.ekfac && method === 'ekfac';
  let ggn: { values: Float64Array; size: number; layers: { name: string; offset: number; biasOffset: number | null }[] } | null = null;
  const prepared: PreconditionedLayer[] = [];
  try {
    if (method === 'kfac' || method === 'ekfac') {
      curvature ??= await fitCurvature(model, fitData, {
        approx: o.approx ?? 'expand',
        fisher: o.fisher ?? 'type-2',
        bias,
        mcSamples: o.mcSamples,
        seed: o.seed,
        setting: o.setting,
        signal,
        onProgress: report('curvature'),
      });
      if (method === 'ekfac') ekfac ??= await fitEkfac(curvature, model, fitData, { signal, onProgress: report('ekfac') });
    }
    if (method === 'ggn') ggn = await denseGgn(model, fitData, bias, o.fisher ?? 'type-2', { signal, onProgress: report('ggn') });
    const fitSeconds = o.curvature && (method !== 'ekfac' || o.ekfac) ? 0 : (performance.now() - fitStart) / 1000;

    const scoreStart = performance.now();
    // ---- the query gradients, preconditioned once per layer ----
    const query = await queryGradients(model, o.queries, bias, { signal, onProgress: report('queries') });
    try {
      for (const [l, g] of query.layers.entries()) {
        throwIfAborted(signal, 'influenceScores');
        if (method === 'identity') {
          prepared.push(scaleLayer(g, 1 / damping));
        } else if (method === 'kfac' || method === 'ekfac') {
          const k = curvature!.layers.findIndex((c) => c.name === g.name);
          if (k < 0) throw new Error(`influenceScores: layer "${g.name}" is not in the fitted curvature`);
          const block = method === 'kfac' ? curvature!.layers[k] : ekfac!.layers[k];
          const biasBlock = method === 'kfac' ? curvature!.layers[k].biasBlock : ekfac!.layers[k].biasBlock;
          const weight = await block.inverseApply(g.weight, { damping });
          const biasPart = g.bias && biasBlock ? await biasBlock.inverseApply(g.bias, { damping }) : null;
          if (g.bias && !biasBlock)
            throw new Error(`influenceScores: layer "${g.name}" has a separate bias the curvature has no block for`);
          prepared.push(flatLayer(g.name, weight, biasPart, true));
        } else if (l === 0) {
          prepared.push(...(await ggnPrecondition(ggn!, query.layers, damping)));
        }
      }
    } finally {
      query.layers.forEach((g) => [g.weight, g.bias].forEach((t) => t?.dispose()));
    }

    // ---- stream the training set ----
    const Q = query.count;
    const blocks: { offset: number; rows: number; values: Float64Array }[] = [];
    let N = 0;
    await forEachBatch(o.train, { signal, onProgress: report('scores') }, 'influenceScores', async (batch) => {
      const block = scope(() => {
        const grads = perExampleGradients(model, batch, { bias });
        let sum: Tensor | null = null;
        for (const p of prepared) {
          const g = grads.find((x) => x.name === p.name);
          if (!g) throw new Error(`influenceScores: the training batch's forward pass has no layer "${p.name}"`);
          const be = g.gradients.backend;
          const B = g.gradients.shape[0];
          let s = be.matmul(p.weight, be.reshape(g.gradients, [B, g.gradients.size / B]), { transB: true });
          if (p.bias && g.biasGradients)
            s = be.binary('add', s, be.matmul(p.bias, be.reshape(g.biasGradients, [B, g.biasGradients.size / B]), { transB: true }));
          sum = sum ? be.binary('add', sum, s) : s;
        }
        if (!sum) throw new Error('influenceScores: the model has no K-FAC layer');
        return keep(sum as Tensor);
      });
      const rows = block.shape[1];
      blocks.push({ offset: N, rows, values: Float64Array.from(await readAndDispose(block)) });
      N += rows;
    });
    const scores = new Float64Array(Q * N);
    for (const b of blocks)
      for (let q = 0; q < Q; q++) for (let j = 0; j < b.rows; j++) scores[q * N + b.offset + j] = b.values[q * b.rows + j];
    return {
      method,
      damping,
      queries: Q,
      examples: N,
      scores,
      queryLoss: query.losses,
      fitSeconds,
      scoreSeconds: (performance.now() - scoreStart) / 1000,
    };
  } finally {
    prepared.forEach((p) => [p.weight, p.bias].forEach((t) => t?.dispose()));
    if (ownEkfac) ekfac?.dispose();
    if (ownCurvature) curvature?.dispose();
  }
}

// ---- query gradients -------------------------------------------------------------------------------

interface QueryLayer {
  name: string;
  /** [Q, dOut, width] and [Q, dOut, 1] (separate bias) or null. */
  weight: Tensor;
  bias: Tensor | null;
}

/** Every query's per-example gradient per K-FAC layer (concatenated over the query batches) and its loss. */
async function queryGradients(
  model: Module,
  queries: CurvatureData,
  bias: BiasMode,
  control: RunControl,
): Promise<{ layers: QueryLayer[]; losses: Float64Array; count: number }> {
  const parts: PerExampleLayerGradients[][] = [];
  const losses: Float64Array[] = [];
  try {
    await forEachBatch(queries, control, 'influenceScores (queries)', async (batch: CurvatureBatch) => {
      losses.push(await exampleLosses(batch));
      parts.push(perExampleGradients(model, batch, { bias }));
    });
    const layers = parts[0].map((first, l) => {
      const be = first.gradients.backend;
      const cat = (ts: Tensor[]) => (ts.length === 1 ? ts[0] : keep(scope(() => be.concat(ts, 0))));
      const weight = cat(parts.map((p) => p[l].gradients));
      const biasGrads = first.biasGradients ? cat(parts.map((p) => p[l].biasGradients!)) : null;
      return { name: first.name, weight, bias: biasGrads };
    });
    // Concatenated copies replace the parts (a single part is handed over as it is).
    if (parts.length > 1) parts.forEach((p) => p.forEach((g) => [g.gradients, g.biasGradients].forEach((t) => t?.dispose())));
    const count = losses.reduce((n, x) => n + x.length, 0);
    const all = new Float64Array(count);
    let offset = 0;
    for (const x of losses) {
      all.set(x, offset);
      offset += x.length;
    }
    return { layers, losses: all, count };
  } catch (e) {
    parts.forEach((p) => p.forEach((g) => [g.gradients, g.biasGradients].forEach((t) => t?.dispose())));
    throw e;
  }
}

/** A layer's query gradients times s, flattened to [Q, P_l]. */
function scaleLayer(g: QueryLayer, s: number): PreconditionedLayer {
  const be = g.weight.backend;
  return scope(() => {
    const weight = keep(be.binaryScalar('mul', flat(g.weight), s));
    const bias = g.bias ? keep(be.binaryScalar('mul', flat(g.bias), s)) : null;
    return { name: g.name, weight, bias };
  });
}

/** [Q, ...] → [Q, rest] as a new kept tensor; disposes the inputs when `consume`. */
function flatLayer(name: string, weight: Tensor, bias: Tensor | null, consume: boolean): PreconditionedLayer {
  const out = scope(() => ({ name, weight: keep(flat(weight)), bias: bias ? keep(flat(bias)) : null }));
  if (consume) {
    if (out.weight !== weight) weight.dispose();
    if (bias && out.bias !== bias) bias.dispose();
  }
  return out;
}

function flat(t: Tensor): Tensor {
  return t.backend.reshape(t, [t.shape[0], t.size / t.shape[0]]);
}

// ---- the dense exact GGN (tiny models) ---------------------------------------------------------------

/**
 * The exact GGN (or empirical Fisher) of all K-FAC parameters over a data set of several batches:
 * each batch's matrix of its summed loss, added up and scaled by c of all the data, so that the
 * result equals one batch of all the data (as fitCurvature's).
 */
async function denseGgn(model: Module, data: CurvatureData, bias: BiasMode, fisher: FisherType, control: RunControl) {
  if (fisher === 'mc') throw new Error("influenceScores: method 'ggn' needs fisher 'type-2' (the exact GGN) or 'empirical'");
  const scales = new LossScaleTracker();
  let total: ReturnType<typeof exactCurvatureMatrix> | null = null;
  await forEachBatch(data, control, 'influenceScores (exact GGN)', async (batch) => {
    const shape = scope(() => [...noGrad(() => batch.forward()).shape]);
    if (!(shape.length > 0) || !(batch.loss.targets.backend instanceof CpuBackend))
      throw new Error("influenceScores: method 'ggn' needs the model on the CPU backend in float64 (tiny models only)");
    scales.add(batch.loss, await batchTerms(batch.loss, shape));
    const summed = { spec: lossSpec(batch.loss.spec.kind, 'sum'), targets: batch.loss.targets };
    const m = exactCurvatureMatrix(model, batch.forward, summed, { bias, kind: fisher === 'empirical' ? 'empirical' : 'ggn' });
    if (!total) total = m;
    else for (let i = 0; i < m.values.length; i++) total.values[i] += m.values[i];
  });
  const t = total as ReturnType<typeof exactCurvatureMatrix> | null;
  if (!t) throw new Error('influenceScores: no training data');
  const c = scales.scale;
  for (let i = 0; i < t.values.length; i++) t.values[i] *= c;
  return t;
}

/** (H + λI)⁻¹ of the stacked query gradients by a float64 Cholesky solve on the host, split back into layers. */
async function ggnPrecondition(
  ggn: { values: Float64Array; size: number; layers: { name: string; offset: number; biasOffset: number | null }[] },
  layers: QueryLayer[],
  damping: number,
): Promise<PreconditionedLayer[]> {
  const P = ggn.size;
  const Q = layers[0].weight.shape[0];
  const X = new Float64Array(Q * P); // row q: the query's gradient in the GGN's layout
  const placed: { layer: QueryLayer; offset: number; biasOffset: number | null; width: number; biasWidth: number }[] = [];
  for (const g of layers) {
    const at = ggn.layers.find((l) => l.name === g.name);
    if (!at) throw new Error(`influenceScores: layer "${g.name}" is not in the exact GGN`);
    const w = await g.weight.read();
    const width = w.length / Q;
    for (let q = 0; q < Q; q++) for (let j = 0; j < width; j++) X[q * P + at.offset + j] = w[q * width + j];
    let biasWidth = 0;
    if (g.bias && at.biasOffset !== null) {
      const b = await g.bias.read();
      biasWidth = b.length / Q;
      for (let q = 0; q < Q; q++) for (let j = 0; j < biasWidth; j++) X[q * P + at.biasOffset + j] = b[q * biasWidth + j];
    }
    placed.push({ layer: g, offset: at.offset, biasOffset: at.biasOffset, width, biasWidth });
  }
  const L = choleskyFactor(ggn.values, P, damping);
  for (let q = 0; q < Q; q++) choleskySolveInPlace(L, P, X.subarray(q * P, (q + 1) * P));
  const be = layers[0].weight.backend;
  return placed.map((p) => {
    const w = new Float64Array(Q * p.width);
    for (let q = 0; q < Q; q++) for (let j = 0; j < p.width; j++) w[q * p.width + j] = X[q * P + p.offset + j];
    let bias: Tensor | null = null;
    if (p.biasOffset !== null && p.biasWidth > 0) {
      const b = new Float64Array(Q * p.biasWidth);
      for (let q = 0; q < Q; q++) for (let j = 0; j < p.biasWidth; j++) b[q * p.biasWidth + j] = X[q * P + p.biasOffset + j];
      bias = keep(be.tensor(b, [Q, p.biasWidth], p.layer.weight.dtype));
    }
    return { name: p.layer.name, weight: keep(be.tensor(w, [Q, p.width], p.layer.weight.dtype)), bias };
  });
}

/** Lower Cholesky factor of (M + λI), float64; a clear error when it is not positive definite. */
function choleskyFactor(M: Float64Array, n: number, damping: number): Float64Array {
  const L = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = M[i * n + j] + (i === j ? damping : 0);
      for (let k = 0; k < j; k++) s -= L[i * n + k] * L[j * n + k];
      if (i === j) {
        if (!(s > 0)) throw new Error(`influenceScores: the exact GGN + λI is not positive definite (pivot ${i}); use a larger damping`);
        L[i * n + i] = Math.sqrt(s);
      } else L[i * n + j] = s / L[j * n + j];
    }
  }
  return L;
}

function choleskySolveInPlace(L: Float64Array, n: number, x: Float64Array): void {
  for (let i = 0; i < n; i++) {
    let s = x[i];
    for (let k = 0; k < i; k++) s -= L[i * n + k] * x[k];
    x[i] = s / L[i * n + i];
  }
  for (let i = n - 1; i >= 0; i--) {
    let s = x[i];
    for (let k = i + 1; k < n; k++) s -= L[k * n + i] * x[k];
    x[i] = s / L[i * n + i];
  }
}

// ---- helpers for callers ------------------------------------------------------------------------------

export interface RankedExample {
  index: number;
  score: number;
}

/** The k most helpful (largest score) and most harmful (smallest score) training examples of every query. */
export function topInfluences(
  scores: Float64Array,
  Q: number,
  N: number,
  k: number,
): { helpful: RankedExample[]; harmful: RankedExample[] }[] {
  if (scores.length !== Q * N) throw new Error(`topInfluences: ${scores.length} scores for ${Q} queries × ${N} examples`);
  const take = Math.min(k, N);
  return Array.from({ length: Q }, (_, q) => {
    const order = Array.from({ length: N }, (_, n) => n).sort((a, b) => scores[q * N + b] - scores[q * N + a]);
    const pick = (ids: number[]) => ids.map((n) => ({ index: n, score: scores[q * N + n] }));
    return { helpful: pick(order.slice(0, take)), harmful: pick(order.slice(N - take).reverse()) };
  });
}

/**
 * The mean eigenvalue of a fitted K-FAC curvature, Σ_layers tr(G) tr(A) / P: the scale to pick λ
 * relative to (λ = relative · mean), so one relative damping suits models and losses of any scale.
 */
export async function meanCurvatureEigenvalue(curvature: KroneckerCurvature): Promise<number> {
  let trace = 0;
  let P = 0;
  for (const l of curvature.layers) {
    trace += await l.trace();
    P += l.dOut * l.width;
    if (l.biasBlock) {
      trace += await l.biasBlock.trace();
      P += l.dOut;
    }
  }
  return P > 0 ? trace / P : 0;
}
