// The curvature toolkit's public API (docs/curvature-tools.md §0-§1): K-FAC factors fitted over a
// whole data set, a Kronecker-factored curvature object per layer with the operations the tools need
// (products, damped inverses, log-determinants, spectra), EK-FAC's diagonal Λ in K-FAC's eigenbasis,
// per-example gradients, and the dense exact GGN of tiny models (the oracle of every tool).
//
// Conventions (docs/kfac.md §2-§3):
// - A layer's "matrix-shaped vector" V is a tensor [dOut, width] with width = dIn + 1 when the bias is
//   folded (the bias column last) and dIn otherwise; vec(V) is row-major (V.flatten()), so the
//   layer's curvature block is G ⊗ A acting as V ↦ G V A. A batch of them is [B, dOut, width].
// - A separate bias has its own block G ⊗ [1]: the same operations on [dOut, 1] (or [B, dOut, 1]).
// - The curvature is that of the training loss L = c Σ_m ℓ_m as each batch reduces it (sum or mean),
//   over the whole data set: the result equals one batch of all the data.
// - Device tensors returned by the toolkit belong to the caller (dispose them) unless a doc comment
//   says the object owns them; host arrays are float64.
// - Eigenvalues are clamped at 0 and DESCENDING; eigenvectors are the columns of [n, n] matrices.
// - Methods that read back or may have to decompose are async; pure device arithmetic is sync.
import type { Variable } from '../autograd/variable.ts';
import type { LossTargets } from '../nn/losses.ts';
import type { PlacedTask } from '../lab/tasks/definition.ts';
import type { Module } from '../nn/module.ts';
import type { Tensor } from '../tensor.ts';
import type { BiasMode, FisherType, KfacApprox, LossSetting } from './factors.ts';

export type { BiasMode, FisherType, KfacApprox, LossSetting } from './factors.ts';

// ---- data -------------------------------------------------------------------------------------

/** One batch: a forward pass of the model and the loss targets (a task's TrainBatch is one). */
export interface CurvatureBatch {
  forward: () => Variable;
  loss: LossTargets;
  /** Frees what the batch uploaded; called by the toolkit when it is done with the batch. */
  dispose?(): void;
}

/**
 * A data set as a sequence of batches, each made on demand so that only one is on the device at a
 * time. `taskData` (a PlacedTask's batches) and `batchList` (plain forward/loss pairs, e.g. the
 * `factors` JSON case) make one.
 */
export interface CurvatureData {
  /** Number of batches. */
  readonly batches: number;
  /** Batch i (0 ≤ i < batches); the toolkit disposes it when done. */
  batch(index: number): CurvatureBatch;
}

/**
 * A task's training examples as batches of at most `batchSize` (the last may be smaller):
 * `examples` is a count (the first n training examples) or explicit indices.
 */
export function taskData<M extends Module>(
  task: PlacedTask<M>,
  model: M,
  options: { examples: number | Int32Array; batchSize: number },
): CurvatureData {
  const indices = typeof options.examples === 'number' ? Int32Array.from({ length: options.examples }, (_, i) => i) : options.examples;
  const size = Math.floor(options.batchSize);
  if (!(size >= 1)) throw new Error(`taskData: batchSize must be a positive integer, got ${options.batchSize}`);
  if (indices.length === 0) throw new Error('taskData: no examples');
  return {
    batches: Math.ceil(indices.length / size),
    batch: (i) => task.batch(model, indices.subarray(i * size, Math.min(indices.length, (i + 1) * size))),
  };
}

/** Plain forward/loss pairs as a data set (e.g. the one batch of a `factors` JSON case). */
export function batchList(batches: readonly CurvatureBatch[]): CurvatureData {
  if (batches.length === 0) throw new Error('batchList: no batches');
  return { batches: batches.length, batch: (i) => batches[i] };
}

export interface Progress {
  /** Batches finished. */
  done: number;
  total: number;
}

/** Progress and cancellation of a long computation. */
export interface RunControl {
  onProgress?: (progress: Progress) => void;
  /** Aborting rejects the computation with an AbortError between batches and frees what it made. */
  signal?: AbortSignal;
}

// ---- fitting ----------------------------------------------------------------------------------

export interface FitOptions extends RunControl {
  approx: KfacApprox;
  /** Default 'type-2'. */
  fisher?: FisherType;
  /** Default 'folded'. */
  bias?: BiasMode;
  /** MC samples per loss term (default 1). */
  mcSamples?: number;
  /** Seeds the MC labels (batch i uses seed + i). */
  seed?: number;
  /** Override the per-layer inference of the loss setting (docs/kfac.md §2). */
  setting?: LossSetting;
}

/** The eigendecompositions of a block's factors, device tensors owned by the block. */
export interface KroneckerEigen {
  /** μ [dA] (descending, ≥ 0) and Q_A [dA, dA] (columns). */
  valuesA: Tensor;
  vectorsA: Tensor;
  /** κ [dOut] and Q_G [dOut, dOut]. */
  valuesG: Tensor;
  vectorsG: Tensor;
  /** Where the decomposition ran: the device's eigh or the float64 host solver. */
  solver: 'device' | 'host';
}

/** The host copy of KroneckerEigen, row-major float64. */
export interface KroneckerEigenHost {
  A: { values: Float64Array; vectors: Float64Array; n: number };
  G: { values: Float64Array; vectors: Float64Array; n: number };
}

export interface InverseOptions {
  /** λ ≥ 0 added to the curvature: (G ⊗ A + λ I)⁻¹. */
  damping: number;
  /**
   * 'eigen' (default): exact damping in the eigenbasis. 'cholesky': π-damping,
   * (G + (√λ/π) I)⁻¹ V (A + π√λ I)⁻¹ (docs/kfac.md §4) — the optimizer's approximation.
   */
  method?: 'eigen' | 'cholesky';
}

/** The operations on one Kronecker block C = G ⊗ A (A is [1] for a separate bias block). */
export interface KroneckerBlock {
  /** Rows of a matrix-shaped vector (dOut). */
  readonly dOut: number;
  /** Columns of a matrix-shaped vector: A's side. */
  readonly width: number;
  /** [width, width], owned by the block. */
  readonly A: Tensor;
  /** [dOut, dOut], owned by the block. */
  readonly G: Tensor;
  /** The eigendecompositions, computed on the first call and cached (owned by the block). */
  eigen(): Promise<KroneckerEigen>;
  eigenHost(): Promise<KroneckerEigenHost>;
  /** C vec(V) as G V A: V [dOut, width] or [B, dOut, width] → the same shape. */
  multiply(v: Tensor): Tensor;
  /** (C + λI)⁻¹ vec(V) for V [dOut, width] or [B, dOut, width]. */
  inverseApply(v: Tensor, options: InverseOptions): Promise<Tensor>;
  /** log det(s·C + δI) = Σ_ij log(s κ_i μ_j + δ) (default s = 1); δ > 0 or C positive definite. */
  logDet(options: { scale?: number; damping: number }): Promise<number>;
  /** diag((C + λI)⁻¹) as [dOut, width]: Σ_ab Q_G[i,a]² Q_A[j,b]² / (κ_a μ_b + λ). */
  inverseDiagonal(damping: number): Promise<Tensor>;
  /** tr C = tr G · tr A. */
  trace(): Promise<number>;
  /** {κ_i μ_j} as [dOut, width] host values (row i: κ_i), κ and μ descending. */
  spectrum(): Promise<Float64Array>;
  dispose(): void;
}

export interface KroneckerLayer extends KroneckerBlock {
  /** Position among the model's K-FAC layers (as `factors` counts them). */
  readonly index: number;
  /** Layer path, e.g. "blocks.0.attn.q". */
  readonly name: string;
  readonly dIn: number;
  /** 'folded': width = dIn + 1; 'separate': see biasBlock; 'none': the layer has no bias. */
  readonly bias: BiasMode | 'none';
  readonly setting: LossSetting;
  /** The separate bias's block G ⊗ [1] (its vectors are [dOut, 1]); null unless bias = 'separate'. */
  readonly biasBlock: KroneckerBlock | null;
}

export interface KroneckerCurvature {
  layers: KroneckerLayer[];
  options: Required<Pick<FitOptions, 'approx' | 'fisher' | 'bias' | 'mcSamples' | 'seed'>> & { setting?: LossSetting };
  /** Examples and loss terms (non-ignored) seen over the data set. */
  examples: number;
  terms: number;
  /** Wall time of the fit, ms. */
  fitMs: number;
  dispose(): void;
}

/**
 * Fit K-FAC's factors over a whole data set: one kfacForward per batch (docs/kfac.md §2-§3), with
 * running sums weighted so that the result equals one batch of all the data (A by rows or
 * examples, G by the loss scale c of the whole set). Works on either backend; asynchronous
 * (reads the counts of loss terms, yields between batches for progress and cancel).
 */
export async function fitCurvature(model: Module, data: CurvatureData, options: FitOptions): Promise<KroneckerCurvature> {
  void model;
  void data;
  void options;
  throw new Error('fitCurvature: not implemented yet');
}

// ---- EK-FAC -----------------------------------------------------------------------------------

/** EK-FAC of one layer: K-FAC's eigenbasis with Λ in place of κ μᵀ (docs/curvature-tools.md §1). */
export interface EkfacLayer {
  readonly index: number;
  readonly name: string;
  /** Λ [dOut, width] on the device (owned). */
  readonly lambda: Tensor;
  /** The separate bias's Λ [dOut, 1] in Q_G alone; null unless bias = 'separate'. */
  readonly lambdaBias: Tensor | null;
  /** Operations with Λ as the diagonal in the eigenbasis (same conventions as KroneckerBlock). */
  multiply(v: Tensor): Tensor;
  inverseApply(v: Tensor, options: { damping: number }): Promise<Tensor>;
  logDet(options: { scale?: number; damping: number }): Promise<number>;
  inverseDiagonal(damping: number): Promise<Tensor>;
  trace(): Promise<number>;
  /** Λ as host values, [dOut, width] row-major. */
  spectrum(): Promise<Float64Array>;
}

export interface EkfacCurvature {
  layers: EkfacLayer[];
  fitMs: number;
  dispose(): void;
}

export interface EkfacOptions extends RunControl {
  /** Defaults: the curvature's own Fisher type, MC samples and seed. */
  fisher?: FisherType;
  mcSamples?: number;
  seed?: number;
}

/**
 * Λ_ij = Σ_m Σ_k ((Q_Gᵀ Γ_{m,k} Q_A)_ij)² over the data set (docs/curvature-tools.md §1), from
 * per-term gradients projected into the curvature's eigenbasis on the device; never forms P×P.
 * With type-2, Λ = diag((Q_G⊗Q_A)ᵀ GGN (Q_G⊗Q_A)). Uses (and computes if needed) curvature's
 * eigendecompositions; the returned object borrows them (dispose it before the curvature).
 */
export async function fitEkfac(
  curvature: KroneckerCurvature,
  model: Module,
  data: CurvatureData,
  options: EkfacOptions = {},
): Promise<EkfacCurvature> {
  void curvature;
  void model;
  void data;
  void options;
  throw new Error('fitEkfac: not implemented yet');
}

// ---- per-example gradients ---------------------------------------------------------------------

export interface PerExampleLayerGradients {
  index: number;
  name: string;
  /** Γ_n = ∇_W ℓ_n summed over the example's positions, without the loss factor c: [N, dOut, width]. */
  gradients: Tensor;
  /** Separate bias: [N, dOut, 1]; null otherwise. */
  biasGradients: Tensor | null;
}

export interface PerExampleOptions {
  /** Default 'folded'. */
  bias?: BiasMode;
  /** Only these layers (by index); default all K-FAC layers. */
  layers?: readonly number[];
}

/**
 * Every example's gradient of its own loss ℓ_n (the sum of its loss terms, docs/curvature-tools.md
 * §0) for each K-FAC layer, from one forward and one backward pass of the batch, on the device.
 * Assumes examples are independent in the forward pass (no batch statistics). The caller disposes
 * the tensors (and the batch).
 */
export function perExampleGradients(model: Module, batch: CurvatureBatch, options: PerExampleOptions = {}): PerExampleLayerGradients[] {
  void model;
  void batch;
  void options;
  throw new Error('perExampleGradients: not implemented yet');
}

// ---- the oracle -------------------------------------------------------------------------------

/**
 * The dense exact GGN (type-2) or empirical Fisher of ALL K-FAC parameters of a tiny model, float64
 * on the CPU backend, in the toolkit's layout: layer by layer, each layer's vec(V) (row-major
 * [dOut, width]) followed, with the bias separate, by its bias block. See exact-ggn.ts.
 */
export { exactCurvatureMatrix, type ExactCurvatureMatrix, type ExactCurvatureOptions } from './exact-ggn.ts';
