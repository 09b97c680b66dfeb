// The Curvature page's analysis of a task's model (docs/curvature-tools.md §1), as plain JSON-able
// data that a worker job can post as it is: for every K-FAC layer, K-FAC-expand and K-FAC-reduce
// side by side (factor heatmaps, the factors' eigenvalues, the K-FAC spectrum {κ_i μ_j}, EK-FAC's Λ
// in that approximation's eigenbasis, and their fit to the exact curvature block), the exact
// block's eigenvalues for layers small enough to form it, and the time each approximation's factors
// took over the data set.
//
// Sweeps over the same examples (a seeded random subset, in batches of at most batchSize uploaded
// one at a time), all but the last by the curvature toolkit (src/engine/curvature/toolkit.ts):
// 1, 2. fitCurvature with the expand and then the reduce approximation (each timed: fitMs);
// 3, 4. fitEkfac: Λ in each approximation's eigenbasis;
// 5. for the layers small enough, per-term gradients (per-term-gradients.ts) summed into the dense
//    block F = Σ_{m,k} vec(Γ) vec(Γ)ᵀ: the exact GGN block (type-2 passes; also for an MC report) or
//    the empirical Fisher block (empirical). With type-2 or empirical, Λ = diag((Q_G⊗Q_A)ᵀ F
//    (Q_G⊗Q_A)) is the best diagonal in that basis, so EK-FAC's fit is never worse than K-FAC's.
// Then, per layer on the host (float64): heatmaps, spectra, the exact block's eigenvalues (O(P³))
// and the fits.
import type { BiasMode, FisherType, KfacApprox } from '../../curvature/factors.ts';
import type { KroneckerEigenHost } from '../../curvature/kronecker.ts';
import { fitCurvature, fitEkfac, taskData, type EkfacCurvature, type KroneckerCurvature } from '../../curvature/toolkit.ts';
import { throwIfAborted, yieldToEventLoop } from '../../curvature/data.ts';
import { withCurvatureCapture } from '../../nn/curvature-hook.ts';
import { blockAverage, kronEigenvalues } from '../../curvature/snapshot.ts';
import type { PlacedTask } from '../../lab/tasks/definition.ts';
import { hostEigenvalues } from '../../linalg/host-eigh.ts';
import type { Module } from '../../nn/module.ts';
import { Rng } from '../../random.ts';
import { keep, scope, type Tensor } from '../../tensor.ts';
import { perTermGradientPasses } from '../per-term-gradients.ts';
import { kronDiagonalFit } from './kron-fit.ts';

export interface CurvatureReportOptions {
  /** Training examples the curvature is computed over (default 512; at most trainSize): a seeded random subset. */
  examples?: number;
  /** The task's training set size (LoadedTask.trainSize), to draw the examples from. */
  trainSize: number;
  /** Default 'type-2' (exact GGN; the fits' guarantee holds for it). */
  fisher?: FisherType;
  /** Default 'folded'. */
  bias?: BiasMode;
  /** Seeds the choice of examples and the MC labels (default 0). */
  seed?: number;
  /** Examples per batch on the device (default 128). */
  batchSize?: number;
  /** Layers with at most this many weight-block parameters (dOut × width) get the exact block (default 1500). */
  exactMaxParams?: number;
  /**
   * Only these layers (by index) get the exact block, if small enough (default: every layer). Its
   * eigenvalues cost O(params³) on the host: about 2 s for a 1056-parameter block on a 2-core VM.
   */
  exactLayers?: readonly number[];
  /** Heatmap cells per side (default 48). */
  maxCells?: number;
  /** Longest spectrum kept per layer and approximation: the largest values (default 2048). */
  spectrumLimit?: number;
  onProgress?: (progress: CurvatureReportProgress) => void;
  /** Aborting rejects with the signal's reason (an AbortError) between batches; everything made is freed. */
  signal?: AbortSignal;
}

export interface CurvatureReportProgress {
  /** Steps done: 3 × batches (the sweeps), then one per layer. */
  done: number;
  total: number;
  /** The three sweeps over the batches, then one step per layer for its spectra and fits. */
  phase: 'factors-expand' | 'factors-reduce' | 'ekfac-exact' | 'spectra';
}

/** A square matrix block-averaged to cells×cells for a heatmap (snapshot.ts blockAverage). */
export interface ReportHeatmap {
  /** Side of the full matrix. */
  n: number;
  /** Side of the heatmap (min(n, maxCells)). */
  cells: number;
  /** cells×cells averages, row-major. */
  data: number[];
}

/** One approximation (expand or reduce) of one layer. */
export interface ReportApproximation {
  /** A [width, width] (with the bias folded, the constant-1 input last) and G [dOut, dOut], block-averaged. */
  A: ReportHeatmap;
  G: ReportHeatmap;
  /** μ and κ: the factors' eigenvalues, clamped at 0, descending. */
  eigA: number[];
  eigG: number[];
  /** K-FAC's spectrum {κ_i μ_j}, descending, the largest spectrumLimit. */
  kfac: number[];
  /** EK-FAC's Λ in this approximation's eigenbasis, sorted descending, the largest spectrumLimit. */
  ekfac: number[];
  /** With the bias separate: the bias block's Λ (in Q_G), descending; else null. */
  ekfacBias: number[] | null;
  /** Relative Frobenius distance to the exact weight block, ‖F − (Q_G⊗Q_A) diag(·) (Q_G⊗Q_A)ᵀ‖_F / ‖F‖_F, of K-FAC (κμᵀ) and EK-FAC (Λ); null without the exact block. */
  fit: { kfac: number; ekfac: number } | null;
}

/** What a report says about a layer's shape, before any curvature. */
interface LayerMeta {
  /** Layer path, e.g. "blocks.0.attn.q". */
  name: string;
  dIn: number;
  dOut: number;
  /** Columns of the weight block: dIn + 1 with the bias folded, else dIn. */
  width: number;
  bias: BiasMode | 'none';
  /** Names of the weight-sharing dims ([] for none). */
  sharedDims: string[];
}

export interface ReportLayer extends LayerMeta {
  /** Position among the model's K-FAC layers, in forward order. */
  index: number;
  /** Parameters of the weight block, dOut × width. */
  params: number;
  expand: ReportApproximation;
  reduce: ReportApproximation;
  /** The exact block's eigenvalues (descending, all `params` of them); null when params > exactMaxParams. */
  exact: { eigenvalues: number[] } | null;
}

export interface CurvatureReport {
  /** Training examples used, and the batches they were split into. */
  examples: number;
  batches: number;
  fisher: FisherType;
  bias: BiasMode;
  seed: number;
  /** Fisher of the exact blocks: 'type-2' (the exact GGN) unless fisher is 'empirical'. */
  exactFisher: 'type-2' | 'empirical';
  layers: ReportLayer[];
  /** Wall time of each approximation's factors over all examples (every layer), and of the EK-FAC/exact sweep, ms. */
  timings: { expandFactorsMs: number; reduceFactorsMs: number; ekfacExactMs: number };
  /** The backend's one-line description. */
  device: string;
}

const APPROXES = ['expand', 'reduce'] as const;

/** A seeded random subset of n of the indices 0 … size − 1, ascending. */
export function sampleExamples(size: number, n: number, seed: number): Int32Array {
  const all = Int32Array.from({ length: size }, (_, i) => i);
  const rng = new Rng(seed);
  const k = Math.min(n, size);
  for (let i = 0; i < k; i++) {
    const j = i + rng.int(size - i);
    [all[i], all[j]] = [all[j], all[i]];
  }
  return all.subarray(0, k).sort();
}

/** The curvature report of `model` on `task`'s training examples (the model is left as it was). */
export async function curvatureReport<M extends Module>(
  task: PlacedTask<M>,
  model: M,
  options: CurvatureReportOptions,
): Promise<CurvatureReport> {
  const o = {
    examples: options.examples ?? 512,
    fisher: options.fisher ?? 'type-2',
    bias: options.bias ?? 'folded',
    seed: options.seed ?? 0,
    batchSize: options.batchSize ?? 128,
    exactMaxParams: options.exactMaxParams ?? 1500,
    maxCells: options.maxCells ?? 48,
    spectrumLimit: options.spectrumLimit ?? 2048,
  };
  if (!(Number.isInteger(o.examples) && o.examples >= 1))
    throw new Error(`curvatureReport: examples must be a positive integer, got ${o.examples}`);
  if (!(Number.isInteger(o.batchSize) && o.batchSize >= 1))
    throw new Error(`curvatureReport: batchSize must be a positive integer, got ${o.batchSize}`);
  if (!(Number.isInteger(options.trainSize) && options.trainSize >= 1))
    throw new Error(`curvatureReport: trainSize must be a positive integer, got ${options.trainSize}`);
  const be = task.backend;
  const indices = sampleExamples(options.trainSize, o.examples, o.seed);
  const data = taskData(task, model, { examples: indices, batchSize: o.batchSize });
  const batches = data.batches;
  let done = 0;
  const meta = layerMeta(task, model, indices.subarray(0, 1), o.bias);
  const exactFisher = o.fisher === 'empirical' ? 'empirical' : 'type-2';
  const small = new Set(
    meta.filter((l, k) => l.dOut * l.width <= o.exactMaxParams && (options.exactLayers?.includes(k) ?? true)).map((l) => l.name),
  );
  // Factors ×2 and EK-FAC ×2 over the batches, the exact sweep when some layer is small enough, then one step per layer.
  const total = (small.size > 0 ? 5 : 4) * batches + meta.length;
  const report = (phase: CurvatureReportProgress['phase']) => () => {
    done++;
    options.onProgress?.({ done, total, phase });
  };
  const control = (phase: CurvatureReportProgress['phase']) => ({ signal: options.signal, onProgress: report(phase) });

  throwIfAborted(options.signal, 'curvatureReport');
  const wasTraining = model.isTraining;
  model.eval(); // dropout off: the curvature of the deterministic model
  const curvatures: KroneckerCurvature[] = [];
  const ekfacs: EkfacCurvature[] = [];
  const exactSums = new Map<string, Tensor>();
  try {
    // ---- 1, 2: the factors of each approximation (the toolkit's fit over all batches) -----------
    // Untimed warm-up: a fit of each approximation on two examples compiles the device pipelines both
    // use, so neither fitMs pays one-off compilation (the sweep timed first used to pay all of it).
    const warmUp = taskData(task, model, { examples: indices.subarray(0, Math.min(2, indices.length)), batchSize: o.batchSize });
    for (const approx of APPROXES) {
      (await fitCurvature(model, warmUp, { approx, fisher: o.fisher, bias: o.bias, seed: o.seed, signal: options.signal })).dispose();
    }
    const fitted = {} as Record<KfacApprox, KroneckerCurvature>;
    for (const approx of APPROXES) {
      fitted[approx] = await fitCurvature(model, data, {
        approx,
        fisher: o.fisher,
        bias: o.bias,
        seed: o.seed,
        ...control(approx === 'expand' ? 'factors-expand' : 'factors-reduce'),
      });
      curvatures.push(fitted[approx]);
    }
    if (fitted.expand.layers.map((l) => l.name).join() !== meta.map((l) => l.name).join()) {
      throw new Error('curvatureReport: the fitted layers differ from the layers of a forward pass');
    }

    // ---- 3: Λ in each approximation's eigenbasis (the toolkit's EK-FAC) ----------------------------
    const ekfacStart = performance.now();
    const lambdas = {} as Record<KfacApprox, { weight: Float64Array; bias: Float64Array | null }[]>;
    for (const approx of APPROXES) {
      const ekfac = await fitEkfac(fitted[approx], model, data, control('ekfac-exact'));
      ekfacs.push(ekfac);
      lambdas[approx] = await Promise.all(
        ekfac.layers.map(async (l) => ({ weight: await l.spectrum(), bias: l.biasBlock ? await l.biasBlock.spectrum() : null })),
      );
    }

    // ---- 4: the exact blocks of the small layers, F = Σ_{m,k} vec(Γ) vec(Γ)ᵀ ------------------------
    if (small.size > 0) {
      for (let i = 0; i < batches; i++) {
        throwIfAborted(options.signal, 'curvatureReport');
        // Each batch's Γ carry √c of that batch's mean loss; weighting by its share of the examples makes
        // the sum that of one batch of all of them (the task losses are means over examples with a
        // fixed number of loss terms each).
        const w = (Math.min(indices.length, (i + 1) * o.batchSize) - i * o.batchSize) / indices.length;
        const batch = data.batch(i);
        try {
          // The factors' MC labels are irrelevant here: the exact block is type-2 or empirical.
          perTermGradientPasses(batch.forward, batch.loss, { fisher: exactFisher, bias: o.bias, layers: small }, (g) => {
            const [T, dOut, width] = g.weight.shape;
            const prev = exactSums.get(g.layer.name);
            const next = scope(() => {
              const flat = be.reshape(g.weight, [T, dOut * width]);
              const outer = be.binaryScalar('mul', be.matmul(flat, flat, { transA: true }), w);
              return keep(prev ? be.binary('add', prev, outer) : outer);
            });
            prev?.dispose();
            exactSums.set(g.layer.name, next);
          });
        } finally {
          batch.dispose?.();
        }
        report('ekfac-exact')();
        await yieldToEventLoop();
      }
    }
    const exact = new Map<string, Float64Array>();
    for (const [name, t] of exactSums) exact.set(name, Float64Array.from(await t.read()));
    const ekfacExactMs = performance.now() - ekfacStart;

    // ---- the factors and their eigenbases on the host ----------------------------------------------
    const factors = {} as Record<KfacApprox, { A: Float64Array; G: Float64Array }[]>;
    const eig = {} as Record<KfacApprox, KroneckerEigenHost[]>;
    for (const approx of APPROXES) {
      factors[approx] = await Promise.all(
        fitted[approx].layers.map(async (l) => ({ A: Float64Array.from(await l.A.read()), G: Float64Array.from(await l.G.read()) })),
      );
      eig[approx] = await Promise.all(fitted[approx].layers.map((l) => l.eigenHost()));
    }
    const factorsMs = { expand: fitted.expand.fitMs, reduce: fitted.reduce.fitMs };

    // ---- assemble (host, float64) --------------------------------------------------------------
    const layers: ReportLayer[] = [];
    for (const [k, l] of meta.entries()) {
      const F = exact.get(l.name) ?? null;
      const approximation = (approx: KfacApprox): ReportApproximation => {
        const e = eig[approx][k];
        const lambda = lambdas[approx][k];
        const heat = (m: Float64Array, n: number): ReportHeatmap => {
          const v = blockAverage(m, n, o.maxCells);
          return { n: v.n, cells: v.cells, data: Array.from(v.data) };
        };
        const kron = new Float64Array(l.dOut * l.width);
        for (let i = 0; i < l.dOut; i++) for (let j = 0; j < l.width; j++) kron[i * l.width + j] = e.G.values[i] * e.A.values[j];
        return {
          A: heat(factors[approx][k].A, l.width),
          G: heat(factors[approx][k].G, l.dOut),
          eigA: Array.from(e.A.values),
          eigG: Array.from(e.G.values),
          kfac: Array.from(kronEigenvalues(e.G.values, e.A.values, o.spectrumLimit)),
          ekfac: descending(lambda.weight, o.spectrumLimit),
          ekfacBias: lambda.bias ? descending(lambda.bias, o.spectrumLimit) : null,
          fit: F
            ? {
                kfac: kronDiagonalFit(F, e.G.vectors, l.dOut, e.A.vectors, l.width, kron),
                ekfac: kronDiagonalFit(F, e.G.vectors, l.dOut, e.A.vectors, l.width, lambda.weight),
              }
            : null,
        };
      };
      layers.push({
        index: k,
        name: l.name,
        dIn: l.dIn,
        dOut: l.dOut,
        width: l.width,
        bias: l.bias,
        sharedDims: l.sharedDims,
        params: l.dOut * l.width,
        expand: approximation('expand'),
        reduce: approximation('reduce'),
        exact: F ? { eigenvalues: Array.from(hostEigenvalues(F, l.dOut * l.width)) } : null,
      });
      exact.delete(l.name); // free the host block early
      report('spectra')();
      await yieldToEventLoop();
      throwIfAborted(options.signal, 'curvatureReport');
    }
    return {
      examples: indices.length,
      batches,
      fisher: o.fisher,
      bias: o.bias,
      seed: o.seed,
      exactFisher,
      layers,
      timings: { expandFactorsMs: factorsMs.expand, reduceFactorsMs: factorsMs.reduce, ekfacExactMs },
      device: be.info.summary,
    };
  } finally {
    for (const t of exactSums.values()) t.dispose();
    for (const e of ekfacs) e.dispose(); // before the curvatures, whose eigenbases they borrow
    for (const c of curvatures) c.dispose();
    model.train(wasTraining);
  }
}

/** The K-FAC layers in forward order, from one captured forward pass of one example. */
function layerMeta<M extends Module>(task: PlacedTask<M>, model: M, firstExample: Int32Array, bias: BiasMode): LayerMeta[] {
  const meta: LayerMeta[] = [];
  const batch = task.batch(model, firstExample);
  try {
    scope(
      () =>
        void withCurvatureCapture(
          {
            capture: ({ layer }) => {
              const [dOut, dIn] = layer.weight.variable.shape;
              const kind = layer.bias === null ? 'none' : bias;
              meta.push({
                name: layer.name,
                dIn,
                dOut,
                width: kind === 'folded' ? dIn + 1 : dIn,
                bias: kind,
                sharedDims: [...layer.sharedDims],
              });
            },
          },
          batch.forward,
        ),
    );
  } finally {
    batch.dispose();
  }
  return meta;
}

function descending(values: Float64Array, limit: number): number[] {
  return Array.from(values)
    .sort((a, b) => b - a)
    .slice(0, limit);
}
