// The Curvature page's analysis of a task's model (docs/curvature-tools.md §1), as plain JSON-able
// data that a worker job can post as it is: for every K-FAC layer, K-FAC-expand and K-FAC-reduce
// side by side (factor heatmaps, the factors' eigenvalues, the K-FAC spectrum {κ_i μ_j}, EK-FAC's Λ
// in that approximation's eigenbasis, and their fit to the exact curvature block), the exact
// block's eigenvalues for layers small enough to form it, and the time each approximation's factors
// took over the data set.
//
// Three sweeps over the same examples (batches of at most batchSize, uploaded one at a time):
// 1. and 2. K-FAC factors with the expand and then the reduce approximation (timed apart);
// 3. per-term gradients (per-term-gradients.ts) projected into both eigenbases for Λ, and for the
//    small layers summed into the dense block F = Σ_{m,k} vec(Γ) vec(Γ)ᵀ — the exact GGN block with
//    the type-2 and MC Fishers (an MC run adds type-2 passes for it), the empirical Fisher block with
//    the empirical one. Λ = diag((Q_G⊗Q_A)ᵀ F (Q_G⊗Q_A)) is then the best diagonal in that basis, so
//    EK-FAC's fit is never worse than K-FAC's (type-2 and empirical).
// Batches are summed with weight (batch examples)/(all examples): the task losses are means over
// examples with a fixed number of loss terms each, so the sums equal one batch of all the examples.
import { computeKfacFactors, type BiasMode, type FisherType, type KfacApprox, type LayerFactors } from '../../curvature/factors.ts';
import { blockAverage, kronEigenvalues } from '../../curvature/snapshot.ts';
import type { PlacedTask, TrainBatch } from '../../lab/tasks/definition.ts';
import { hostEigenvalues } from '../../linalg/host-eigh.ts';
import type { Module } from '../../nn/module.ts';
import { Rng } from '../../random.ts';
import { keep, scope, type Tensor } from '../../tensor.ts';
import { eigenPairs } from '../eigen/eigen.ts';
import { EkfacAccumulator, type KronBasis } from '../eigen/ekfac-eigenvalues.ts';
import { perTermGradientPasses, type TermGradients } from '../per-term-gradients.ts';
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

export interface ReportLayer {
  /** Position among the model's K-FAC layers, in forward order. */
  index: number;
  /** Layer path, e.g. "blocks.0.attn.q". */
  name: string;
  dIn: number;
  dOut: number;
  /** Columns of the weight block: dIn + 1 with the bias folded, else dIn. */
  width: number;
  bias: BiasMode | 'none';
  /** Names of the weight-sharing dims ([] for none). */
  sharedDims: string[];
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

interface LayerMeta {
  name: string;
  dIn: number;
  dOut: number;
  width: number;
  bias: BiasMode | 'none';
  sharedDims: string[];
}

interface HostFactors {
  A: Float64Array;
  G: Float64Array;
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
  const chunks: Int32Array[] = [];
  for (let i = 0; i < indices.length; i += o.batchSize) chunks.push(indices.subarray(i, i + o.batchSize));
  const weightOf = (chunk: Int32Array) => chunk.length / indices.length;
  let total = 3 * chunks.length; // plus one per layer, added when the first batch has shown the layers
  let done = 0;
  const step = async (phase: CurvatureReportProgress['phase']) => {
    done++;
    options.onProgress?.({ done, total, phase });
    // Let the caller's events (progress posting, an abort) run between batches.
    await new Promise((resolve) => setTimeout(resolve, 0));
    options.signal?.throwIfAborted();
  };
  const withBatch = <T>(chunk: Int32Array, fn: (b: TrainBatch) => T): T => {
    const b = task.batch(model, chunk);
    try {
      return fn(b);
    } finally {
      b.dispose();
    }
  };

  options.signal?.throwIfAborted();
  const wasTraining = model.isTraining;
  model.eval(); // dropout off: the curvature of the deterministic model
  const owned: Tensor[] = [];
  const accumulators: EkfacAccumulator[] = [];
  try {
    // ---- 1, 2: the factors of each approximation --------------------------------------------------
    let meta: LayerMeta[] = [];
    const factors = {} as Record<KfacApprox, HostFactors[]>;
    const factorsMs = {} as Record<KfacApprox, number>;
    for (const approx of APPROXES) {
      const start = performance.now();
      let sums: { A: Tensor; G: Tensor }[] = [];
      try {
        for (const [c, chunk] of chunks.entries()) {
          const w = weightOf(chunk);
          const next = withBatch(chunk, (b) =>
            scope(() => {
              const f = computeKfacFactors(b.forward, b.loss, { approx, fisher: o.fisher, bias: o.bias, seed: o.seed + c });
              if (meta.length === 0) {
                meta = f.map(metaOf);
                total += meta.length;
              }
              const add = (prev: Tensor | undefined, t: Tensor) =>
                keep(prev ? be.binary('add', prev, be.binaryScalar('mul', t, w)) : be.binaryScalar('mul', t, w));
              const next = f.map((l, k) => ({ A: add(sums[k]?.A, l.A), G: add(sums[k]?.G, l.G) }));
              disposeFactors(f); // computeKfacFactors hands its factors to the caller
              return next;
            }),
          );
          disposeFactors(sums);
          sums = next;
          await step(approx === 'expand' ? 'factors-expand' : 'factors-reduce');
        }
        factors[approx] = await Promise.all(
          sums.map(async (s) => ({ A: Float64Array.from(await s.A.read()), G: Float64Array.from(await s.G.read()) })),
        );
      } finally {
        disposeFactors(sums);
      }
      factorsMs[approx] = performance.now() - start;
    }

    // ---- eigenbases on the host; uploaded for the projections ---------------------------------------
    const eig = {} as Record<KfacApprox, { A: ReturnType<typeof eigenPairs>; G: ReturnType<typeof eigenPairs> }[]>;
    const bases = {} as Record<KfacApprox, Map<string, KronBasis>>;
    for (const approx of APPROXES) {
      eig[approx] = meta.map((l, k) => ({ A: eigenPairs(factors[approx][k].A, l.width), G: eigenPairs(factors[approx][k].G, l.dOut) }));
      bases[approx] = new Map(
        meta.map((l, k) => {
          const QA = be.tensor(eig[approx][k].A.vectors, [l.width, l.width], model.precision);
          const QG = be.tensor(eig[approx][k].G.vectors, [l.dOut, l.dOut], model.precision);
          owned.push(QA, QG);
          return [l.name, { QA, QG }];
        }),
      );
    }

    // ---- 3: Λ in both bases, and the exact blocks of the small layers --------------------------------
    const ekfacStart = performance.now();
    const acc = { expand: new EkfacAccumulator(bases.expand), reduce: new EkfacAccumulator(bases.reduce) };
    accumulators.push(acc.expand, acc.reduce);
    const exactFisher = o.fisher === 'empirical' ? 'empirical' : 'type-2';
    const small = new Set(
      meta.filter((l, k) => l.dOut * l.width <= o.exactMaxParams && (options.exactLayers?.includes(k) ?? true)).map((l) => l.name),
    );
    const exactSums = new Map<string, Tensor>();
    const addExact = (g: TermGradients, w: number) => {
      if (!small.has(g.layer.name)) return;
      const [T, dOut, width] = g.weight.shape;
      const prev = exactSums.get(g.layer.name);
      const next = scope(() => {
        const flat = be.reshape(g.weight, [T, dOut * width]);
        const outer = be.binaryScalar('mul', be.matmul(flat, flat, { transA: true }), w);
        return keep(prev ? be.binary('add', prev, outer) : outer);
      });
      prev?.dispose();
      exactSums.set(g.layer.name, next);
    };
    try {
      for (const [c, chunk] of chunks.entries()) {
        const w = weightOf(chunk);
        withBatch(chunk, (b) => {
          const seed = o.seed + c; // the factors' MC labels
          perTermGradientPasses(b.forward, b.loss, { fisher: o.fisher, bias: o.bias, seed }, (g) => {
            acc.expand.add(g, w);
            acc.reduce.add(g, w);
            if (exactFisher === o.fisher) addExact(g, w);
          });
          if (exactFisher !== o.fisher && small.size > 0) {
            perTermGradientPasses(b.forward, b.loss, { fisher: exactFisher, bias: o.bias, layers: small }, (g) => addExact(g, w));
          }
        });
        await step('ekfac-exact');
      }
      const lambdas = {} as Record<KfacApprox, { weight: Float64Array; bias: Float64Array | null }[]>;
      for (const approx of APPROXES) {
        const taken = acc[approx].take();
        owned.push(...taken.flatMap((t) => (t.bias ? [t.weight, t.bias] : [t.weight])));
        lambdas[approx] = await Promise.all(
          taken.map(async (t) => ({
            weight: Float64Array.from(await t.weight.read()),
            bias: t.bias ? Float64Array.from(await t.bias.read()) : null,
          })),
        );
      }
      const exact = new Map<string, Float64Array>();
      for (const [name, t] of exactSums) exact.set(name, Float64Array.from(await t.read()));
      const ekfacExactMs = performance.now() - ekfacStart;

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
        await step('spectra');
      }
      return {
        examples: indices.length,
        batches: chunks.length,
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
    }
  } finally {
    for (const a of accumulators) a.dispose();
    for (const t of owned) t.dispose();
    model.train(wasTraining);
  }
}

function metaOf(f: LayerFactors): LayerMeta {
  const [dOut, dIn] = f.layer.weight.variable.shape;
  return {
    name: f.name,
    dIn,
    dOut,
    width: f.A.shape[0],
    bias: f.layer.bias === null ? 'none' : f.bias,
    sharedDims: [...f.layer.sharedDims],
  };
}

function disposeFactors(sums: { A: Tensor; G: Tensor }[]): void {
  for (const s of sums) {
    s.A.dispose();
    s.G.dispose();
  }
}

function descending(values: Float64Array, limit: number): number[] {
  return Array.from(values)
    .sort((a, b) => b - a)
    .slice(0, limit);
}
