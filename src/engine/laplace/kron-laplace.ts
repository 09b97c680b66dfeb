// The Kronecker-factored Laplace approximation of a trained model (docs/curvature-tools.md §2): the
// curvature toolkit's K-FAC fit over the training data (expand or reduce: one option apart), the
// eigenvalues of every layer's factors, the summed loss at θ and each layer's ‖θ_l‖². The
// posterior precision of layer l is P_l = s·(G ⊗ A) + δ_l I with s from marglik.ts; the marginal
// likelihood (marglik.ts) and the GLM predictive (predictive.ts) read this object.
import { noGrad, type Variable } from '../autograd/variable.ts';
import { fitCurvature, type CurvatureData, type FitOptions, type KroneckerCurvature } from '../curvature/toolkit.ts';
import { forEachBatch } from '../curvature/data.ts';
import { withCurvatureCapture, type KfacLayerInfo } from '../nn/curvature-hook.ts';
import { computeLoss, lossSpec } from '../nn/losses.ts';
import type { Module } from '../nn/module.ts';
import { readAndDispose, scope } from '../tensor.ts';
import type { LaplaceLayerSpectrum, LaplaceSpectrum, Likelihood } from './marglik.ts';

export interface LaplaceFitOptions extends FitOptions {
  /** Default: 'classification' for a cross-entropy loss, 'regression' for a squared error. */
  likelihood?: Likelihood;
}

export interface KroneckerLaplace {
  /** The K-FAC fit (owned: dispose() frees it); its layers give the eigenbases the predictive uses. */
  curvature: KroneckerCurvature;
  /** The layers' parameters, in the fit's order. */
  layers: KfacLayerInfo[];
  spectrum: LaplaceSpectrum;
  /** Wall time of the whole fit: factors, eigendecompositions, loss sum and norms (ms). */
  fitMs: number;
  /** Its parts (ms): the summed-loss pass, the K-FAC factor pass, the eigendecompositions (with the norms). */
  partsMs: { loss: number; factors: number; eigen: number };
  dispose(): void;
}

/** Fit the Kronecker Laplace approximation of `model` at its current weights over `data`. */
export async function fitLaplace(model: Module, data: CurvatureData, options: LaplaceFitOptions): Promise<KroneckerLaplace> {
  const started = performance.now();
  const { lossSum, outputs, kind, layers } = await summedLoss(data, options);
  const lossDone = performance.now();
  if (!Number.isFinite(lossSum)) throw new Error(`fitLaplace: the summed loss is ${lossSum} (did the model diverge?)`);
  const likelihood = options.likelihood ?? (kind === 'ce' ? 'classification' : 'regression');
  if ((likelihood === 'classification') !== (kind === 'ce')) {
    throw new Error(
      `fitLaplace: a ${likelihood} likelihood needs a ${likelihood === 'classification' ? 'cross-entropy' : 'squared-error'} loss, got ${kind}`,
    );
  }
  const curvature = await fitCurvature(model, data, options);
  const factorsDone = performance.now();
  try {
    if (curvature.layers.length !== layers.length || curvature.layers.some((l, k) => l.name !== layers[k].name)) {
      throw new Error('fitLaplace: the loss pass and the curvature fit saw different K-FAC layers');
    }
    const spectra: LaplaceLayerSpectrum[] = [];
    for (const [k, layer] of curvature.layers.entries()) {
      const info = layers[k];
      const eig = await layer.eigenHost();
      const weightSpectrum = outer(eig.G.values, eig.A.values);
      const biasSpectrum = layer.biasBlock ? Float64Array.from((await layer.biasBlock.eigenHost()).G.values) : null;
      if (!weightSpectrum.every(Number.isFinite) || (biasSpectrum && !biasSpectrum.every(Number.isFinite)))
        throw new Error(`fitLaplace: the curvature of layer "${info.name}" is not finite (did the model diverge?)`);
      spectra.push({
        index: k,
        name: info.name,
        params: info.weight.variable.value.size + (info.bias?.variable.value.size ?? 0),
        weightSpectrum,
        biasSpectrum,
        squaredNorm: await squaredNorm(info),
      });
    }
    return {
      curvature,
      layers,
      spectrum: { likelihood, layers: spectra, curvatureScale: 1 / curvature.lossScale, lossSum, outputs },
      fitMs: performance.now() - started,
      partsMs: { loss: lossDone - started, factors: factorsDone - lossDone, eigen: performance.now() - factorsDone },
      dispose: () => curvature.dispose(),
    };
  } catch (e) {
    curvature.dispose();
    throw e;
  }
}

/**
 * Σ_m ℓ_m over the data (cross-entropy, or the squared error over all outputs), the number of
 * outputs, and the K-FAC layers the forward pass meets (recorded on the first batch).
 */
async function summedLoss(
  data: CurvatureData,
  control: FitOptions,
): Promise<{ lossSum: number; outputs: number; kind: 'ce' | 'mse'; layers: KfacLayerInfo[] }> {
  let lossSum = 0;
  let outputs = 0;
  let kind: 'ce' | 'mse' = 'ce';
  let layers: KfacLayerInfo[] | null = null;
  await forEachBatch(data, { signal: control.signal }, 'fitLaplace', async (batch) => {
    kind = batch.loss.spec.kind;
    const seen: KfacLayerInfo[] = [];
    const value = scope(() =>
      noGrad(() => {
        const f: Variable = layers ? batch.forward() : withCurvatureCapture({ capture: (c) => void seen.push(c.layer) }, batch.forward);
        outputs += f.value.size;
        return computeLoss(lossSpec(batch.loss.spec.kind, 'sum'), f, batch.loss.targets).value;
      }),
    );
    layers ??= seen;
    lossSum += (await readAndDispose(value))[0];
  });
  return { lossSum, outputs, kind, layers: layers ?? [] };
}

async function squaredNorm(info: KfacLayerInfo): Promise<number> {
  let sum = 0;
  for (const p of info.bias ? [info.weight, info.bias] : [info.weight]) {
    const values = await p.variable.value.read();
    for (const v of values) sum += v * v;
  }
  return sum;
}

/** x yᵀ flattened row-major (κ μᵀ). */
function outer(x: ArrayLike<number>, y: ArrayLike<number>): Float64Array {
  const out = new Float64Array(x.length * y.length);
  for (let i = 0; i < x.length; i++) for (let j = 0; j < y.length; j++) out[i * y.length + j] = x[i] * y[j];
  return out;
}
