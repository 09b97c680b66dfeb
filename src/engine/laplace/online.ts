// Online marginal-likelihood training (Immer et al. 2021, Algorithm 1; docs/curvature-tools.md §2):
// train θ with Adam on the mean loss plus the prior ½ Σ_l δ_l ‖θ_l‖² (scaled like the loss, so the
// optimum is the MAP of log p(D|θ) + log p(θ|δ)); every F epochs after a burn-in, fit the Kronecker
// Laplace approximation on the training set and take K Adam steps on log δ_l (and log σ) that
// maximise log q with θ and the factors fixed; keep the state with the best log q. Expand and
// reduce are one option apart (`approx`). The θ loop is the lab's trainModel.
import type { Module, NamedParameter } from '../nn/module.ts';
import { withCurvatureCapture, type KfacLayerInfo } from '../nn/curvature-hook.ts';
import { noGrad } from '../autograd/variable.ts';
import { batchTerms, throwIfAborted, type CurvatureData } from '../curvature/data.ts';
import type { BiasMode, FisherType, KfacApprox } from '../curvature/factors.ts';
import { trainModel } from '../lab/train-model.ts';
import type { TrainBatch } from '../lab/tasks/definition.ts';
import { scope } from '../tensor.ts';
import { fitLaplace, type KroneckerLaplace } from './kron-laplace.ts';
import { HyperAdam, optimizeHyperparameters, type Likelihood, type MarglikHyper, type MarglikTerms } from './marglik.ts';

export interface MarglikTrainingOptions {
  model: Module;
  /** The training batch of these example indices (a task's `(rows) => placed.batch(model, rows)`). */
  batch: (indices: Int32Array) => TrainBatch;
  /** Training examples: the first n, or these indices. */
  examples: number | Int32Array;
  batchSize: number;
  epochs: number;
  /** Seeds the batch order and the MC labels of the fits. */
  seed: number;
  /** Adam's learning rate for θ (default 1e-3). */
  lr?: number;
  approx: KfacApprox;
  /** Fisher of the Laplace fits (default 'mc', one sample). */
  fisher?: FisherType;
  mcSamples?: number;
  /** Default 'folded'. */
  bias?: BiasMode;
  /** Fit and update the hyperparameters every F epochs (default 1). */
  frequency?: number;
  /** Epochs before the first fit (default 0). */
  burnIn?: number;
  /** Adam steps K on the log hyperparameters per fit (default 10). */
  hyperSteps?: number;
  /** Their learning rate (default 0.1). */
  hyperLr?: number;
  /** Initial δ_l (default 1) and σ (regression; default 1). */
  initialPrecision?: number;
  initialSigma?: number;
  /** Regression: learn σ (default true). */
  learnSigma?: boolean;
  /** Batch size of the Laplace fits (default batchSize). */
  fitBatchSize?: number;
  signal?: AbortSignal;
  /** After every training step (progress). */
  onStep?: (step: number, steps: number, loss: number) => void;
  /** After every Laplace fit and its hyperparameter steps. Awaited. */
  onFit?: (fit: MarglikFitRecord) => void | Promise<void>;
  /**
   * Called with the fitted approximation before it is freed, at the best state's fit only when
   * `keepBest` is on (the predictive needs the factors of the final state). Awaited.
   */
  keepBestLaplace?: boolean;
}

export interface MarglikFitRecord {
  /** Epochs finished when the fit ran. */
  epoch: number;
  /** log q after the hyperparameter steps, and its parts. */
  terms: MarglikTerms;
  /** log q at the hyperparameters before the steps. */
  logMarglikBefore: number;
  precision: number[];
  sigma: number | null;
  /** Mean training loss over the epoch(s) since the last fit. */
  trainLoss: number;
  /** The Laplace fit alone (factors, eigendecompositions, loss sum), and the K hyperparameter steps. */
  fitMs: number;
  hyperMs: number;
}

export interface MarglikTrainingResult {
  fits: MarglikFitRecord[];
  /** The state kept: the fit with the best log q (its θ is now the model's, its δ here). */
  best: MarglikFitRecord | null;
  hyper: MarglikHyper;
  likelihood: Likelihood;
  /** K-FAC layer names, in order. */
  layers: string[];
  /** Wall time of everything (training, fits, steps), ms; and of the fits alone. */
  totalMs: number;
  fitMsTotal: number;
  losses: number[];
  /** The Laplace approximation at the best state, when keepBestLaplace asked for it (the caller disposes it). */
  laplace: KroneckerLaplace | null;
}

/** Run the online algorithm; the model ends at the best log q state. */
export async function trainMarglik(options: MarglikTrainingOptions): Promise<MarglikTrainingResult> {
  const started = performance.now();
  const { model, epochs, batchSize } = options;
  const rows = typeof options.examples === 'number' ? Int32Array.from({ length: options.examples }, (_, i) => i) : options.examples;
  const N = rows.length;
  if (!(Number.isInteger(epochs) && epochs >= 1)) throw new Error(`trainMarglik: epochs must be a whole number ≥ 1, got ${epochs}`);
  const frequency = options.frequency ?? 1;
  const burnIn = options.burnIn ?? 0;
  if (!(Number.isInteger(frequency) && frequency >= 1))
    throw new Error(`trainMarglik: frequency must be a whole number ≥ 1, got ${frequency}`);
  const stepsPerEpoch = Math.max(1, Math.floor(N / Math.min(batchSize, N)));

  const probe = await probeLoss(options.batch, rows.subarray(0, Math.min(batchSize, N)));
  const likelihood: Likelihood = probe.kind === 'ce' ? 'classification' : 'regression';
  const layerOf = new Map<NamedParameter['variable'], number>();
  probe.layers.forEach((info, k) => {
    layerOf.set(info.weight.variable, k);
    if (info.bias) layerOf.set(info.bias.variable, k);
  });
  // The loss scale c of the whole training set (mean: 1/(terms), times C for the squared error).
  const c = probe.scalePerExample / N;
  let hyper: MarglikHyper = {
    precision: probe.layers.map(() => options.initialPrecision ?? 1),
    ...(likelihood === 'regression' ? { sigma: options.initialSigma ?? 1 } : {}),
  };
  // −log p = L / (c k) with k = 1 (CE) or 2σ² (squared error), so the MAP objective ∝ L + ½ c k Σ δ_l ‖θ_l‖².
  const priorWeight = (p: NamedParameter) => {
    const k = layerOf.get(p.variable);
    if (k === undefined) return 0;
    const sigma = hyper.sigma ?? 1;
    return hyper.precision[k] * c * (likelihood === 'regression' ? 2 * sigma * sigma : 1);
  };

  const fitData: CurvatureData = trainingData(options.batch, rows, options.fitBatchSize ?? batchSize);
  const adam = new HyperAdam(options.hyperLr ?? 0.1);
  const fits: MarglikFitRecord[] = [];
  let best: { record: MarglikFitRecord; weights: Float64Array[]; hyper: MarglikHyper } | null = null;
  let bestLaplace: KroneckerLaplace | null = null;
  let lossSinceFit: number[] = [];
  const params = model.parameters();
  let fitMsTotal = 0;

  const fitAndStep = async (epoch: number) => {
    const laplace = await fitLaplace(model, fitData, {
      approx: options.approx,
      fisher: options.fisher ?? 'mc',
      mcSamples: options.mcSamples ?? 1,
      bias: options.bias ?? 'folded',
      seed: options.seed * 1000 + epoch,
      likelihood,
      signal: options.signal,
    });
    let kept = false;
    try {
      const hyperStart = performance.now();
      const before = optimizeHyperparameters(laplace.spectrum, hyper, { steps: 0 }).terms.logMarglik;
      const stepped = optimizeHyperparameters(
        laplace.spectrum,
        hyper,
        { steps: options.hyperSteps ?? 10, learnSigma: options.learnSigma },
        adam,
      );
      const hyperMs = performance.now() - hyperStart;
      hyper = stepped.hyper;
      fitMsTotal += laplace.fitMs;
      const record: MarglikFitRecord = {
        epoch,
        terms: stepped.terms,
        logMarglikBefore: before,
        precision: [...hyper.precision],
        sigma: hyper.sigma ?? null,
        trainLoss: lossSinceFit.length ? lossSinceFit.reduce((a, b) => a + b, 0) / lossSinceFit.length : Number.NaN,
        fitMs: laplace.fitMs,
        hyperMs,
      };
      lossSinceFit = [];
      fits.push(record);
      if (!best || record.terms.logMarglik > best.record.terms.logMarglik) {
        best = { record, weights: await Promise.all(params.map(async (p) => Float64Array.from(await p.variable.value.read()))), hyper };
        if (options.keepBestLaplace) {
          bestLaplace?.dispose();
          bestLaplace = laplace;
          kept = true;
        }
      }
      await options.onFit?.(record);
    } finally {
      if (!kept) laplace.dispose();
    }
  };

  let losses: number[];
  try {
    const trained = await trainModel({
      model,
      batch: options.batch,
      examples: rows,
      batchSize,
      steps: epochs * stepsPerEpoch,
      seed: options.seed,
      optimizer: 'adam',
      hyper: { lr: options.lr ?? 1e-3 },
      signal: options.signal,
      prior: priorWeight,
      onStep: async (step, loss) => {
        lossSinceFit.push(loss);
        options.onStep?.(step, epochs * stepsPerEpoch, loss);
        if ((step + 1) % stepsPerEpoch !== 0) return;
        const epoch = (step + 1) / stepsPerEpoch;
        if (epoch > burnIn && (epoch - burnIn) % frequency === 0) await fitAndStep(epoch);
      },
    });
    losses = trained.losses;
    throwIfAborted(options.signal, 'trainMarglik');
    // The algorithm ends at the best marginal likelihood: θ and δ of that fit.
    const kept = best as { record: MarglikFitRecord; weights: Float64Array[]; hyper: MarglikHyper } | null;
    if (kept) {
      params.forEach((p, i) => {
        const v = p.variable;
        v.assign(v.backend.tensor(kept.weights[i], v.shape, v.value.dtype));
      });
      hyper = kept.hyper;
    }
  } catch (e) {
    (bestLaplace as KroneckerLaplace | null)?.dispose();
    throw e;
  }
  const kept = best as { record: MarglikFitRecord } | null;
  return {
    fits,
    best: kept?.record ?? null,
    hyper,
    likelihood,
    layers: probe.layers.map((l) => l.name),
    totalMs: performance.now() - started,
    fitMsTotal,
    losses,
    laplace: bestLaplace,
  };
}

/** The training examples as the Laplace fit's data set, in batches of `size`. */
function trainingData(batch: (indices: Int32Array) => TrainBatch, rows: Int32Array, size: number): CurvatureData {
  const step = Math.max(1, Math.floor(size));
  return { batches: Math.ceil(rows.length / step), batch: (i) => batch(rows.subarray(i * step, Math.min(rows.length, (i + 1) * step))) };
}

/** One forward pass of a batch: the loss kind, the K-FAC layers in order, and c·N (per-example loss scale). */
async function probeLoss(
  batch: (indices: Int32Array) => TrainBatch,
  indices: Int32Array,
): Promise<{ kind: 'ce' | 'mse'; layers: KfacLayerInfo[]; scalePerExample: number }> {
  const b = batch(indices);
  try {
    const layers: KfacLayerInfo[] = [];
    const shape = scope(() => noGrad(() => [...withCurvatureCapture({ capture: (c) => void layers.push(c.layer) }, b.forward).shape]));
    if (b.loss.spec.reduction !== 'mean') throw new Error('trainMarglik: the training loss must be a mean (the prior is scaled like it)');
    // c of a batch of B examples is scale(M_b, C) = 1/(M_b·[C]); for N examples it is that times B/N.
    const scalePerExample = (await batchTerms(b.loss, shape)).scale * indices.length;
    return { kind: b.loss.spec.kind, layers, scalePerExample };
  } finally {
    b.dispose();
  }
}
