// The linearised (GLM) Laplace predictive for classification (docs/curvature-tools.md §2):
// f_lin(x; θ') = f(x; θ) + J_x (θ' − θ) with θ' ~ N(θ, P⁻¹), P block-diagonal over the K-FAC layers,
// P_l = s·(G ⊗ A) + δ_l I. Two readings of it:
// - probit: p(y|x) ≈ softmax(f(x) / sqrt(1 + π/8 · diag(J_x P⁻¹ J_xᵀ))) (MacKay's approximation);
// - MC: the average of softmax(f(x) + J_x ε) over samples ε ~ N(0, P⁻¹), the check of the first.
// Both come from the same Jacobian rows: one backward pass per class c with the one-hot seed e_c
// gives every example's gradient of f_c for every layer, Γ_{n,c} = Σ_r b_r a_rᵀ, which is rotated
// into the Kronecker eigenbasis on the rows (ã = a Q_A, b̃ = b Q_G) so that, with D = s κ μᵀ + δ,
//   [J P⁻¹ Jᵀ]_cc = Σ_l Σ_ij (Q_Gᵀ Γ_{n,c} Q_A)_ij² / D_ij,
//   (J ε)_c = Σ_l Σ_ij (Q_Gᵀ Γ_{n,c} Q_A)_ij Z_ij / sqrt(D_ij),  Z ~ N(0, I)  (ε = Q_G (Z ⊘ √D) Q_Aᵀ).
// No P×P matrix is ever formed; everything per batch stays on the device until one read.
import { grad } from '../autograd/backward.ts';
import type { Backend } from '../backend/backend.ts';
import type { CurvatureBatch, CurvatureData, RunControl } from '../curvature/data.ts';
import { forEachBatch } from '../curvature/data.ts';
import { foldedInput, perExampleOuter, perExampleSum } from '../curvature/per-example.ts';
import { withCurvatureCapture, type KfacForwardCapture } from '../nn/curvature-hook.ts';
import { Rng } from '../random.ts';
import { keep, scope, type Tensor } from '../tensor.ts';
import type { KroneckerLaplace } from './kron-laplace.ts';
import { hessianScale, layerPrecisions, type MarglikHyper } from './marglik.ts';

export interface PredictiveOptions extends RunControl {
  /** Also draw this many joint samples of the linearised model (0 = probit only; default 0). */
  mcSamples?: number;
  /** Seeds the MC samples (default 0). */
  seed?: number;
}

export interface PredictiveResult {
  /** Examples and classes. */
  N: number;
  C: number;
  /** f(x; θ) [N, C] row-major. */
  logits: Float64Array;
  /** diag(J_x P⁻¹ J_xᵀ) [N, C]. */
  variance: Float64Array;
  /** The MAP model's softmax(f) [N, C]. */
  map: Float64Array;
  /** The probit-approximated GLM predictive [N, C]. */
  probit: Float64Array;
  /** The MC estimate of the GLM predictive [N, C]; null without mcSamples. */
  mc: Float64Array | null;
  /** The labels of the data (−1 where ignored). */
  labels: Int32Array;
}

interface LayerPosterior {
  /** Q_G [dOut, dOut], Q_A [width, width]. */
  vectorsG: Tensor;
  vectorsA: Tensor;
  /** 1 / D flattened [P, 1] (P = dOut·width). */
  inverseD: Tensor;
  /** (Z ⊘ √D) as [S, P]; null without MC. */
  noise: Tensor | null;
  /** Separate bias: Q_G of its block, 1/(s κ + δ) [dOut, 1] and its noise [S, dOut]. */
  bias: { vectorsG: Tensor; inverseD: Tensor; noise: Tensor | null } | null;
  folded: boolean;
  width: number;
  dOut: number;
}

/** The GLM predictive of `laplace` at the hyperparameters on every batch of `data` (outputs [N, C]). */
export async function glmPredictive(
  laplace: KroneckerLaplace,
  data: CurvatureData,
  hyper: MarglikHyper,
  options: PredictiveOptions = {},
): Promise<PredictiveResult> {
  if (laplace.spectrum.likelihood !== 'classification') throw new Error('glmPredictive: the predictive is for classification');
  const samples = Math.max(0, Math.floor(options.mcSamples ?? 0));
  const precision = layerPrecisions(hyper.precision, laplace.curvature.layers.length);
  const s = hessianScale(laplace.spectrum, hyper.sigma);
  const rng = new Rng(options.seed ?? 0);
  const posteriors: LayerPosterior[] = [];
  const parts: { logits: Float64Array; variance: Float64Array; jz: Float64Array | null; labels: Int32Array; N: number; C: number }[] = [];
  try {
    for (const [k, layer] of laplace.curvature.layers.entries()) {
      posteriors.push(await layerPosterior(layer, laplace.curvature.options.bias, s, precision[k], samples, rng));
    }
    await forEachBatch(data, options, 'glmPredictive', async (batch) => {
      parts.push(await batchPredictive(batch, posteriors, samples));
    });
  } finally {
    for (const p of posteriors) {
      for (const t of [p.vectorsG, p.vectorsA, p.inverseD, p.noise, p.bias?.vectorsG, p.bias?.inverseD, p.bias?.noise]) t?.dispose();
    }
  }
  return combine(parts, samples);
}

async function layerPosterior(
  layer: KroneckerLaplace['curvature']['layers'][number],
  biasMode: 'folded' | 'separate',
  s: number,
  delta: number,
  samples: number,
  rng: Rng,
): Promise<LayerPosterior> {
  const e = await layer.eigen();
  const be = layer.G.backend;
  const { dOut, width } = layer;
  const P = dOut * width;
  const dtype = layer.G.dtype;
  const noiseOf = (inverseD: Tensor, n: number) =>
    samples > 0
      ? be.binary('mul', be.tensor(rng.normalArray(samples * n), [samples, n], dtype), be.reshape(be.unary('sqrt', inverseD), [1, n]))
      : null;
  const biasEigen = layer.biasBlock ? await layer.biasBlock.eigen() : null;
  return scope(() => {
    const d = be.binary('mul', be.reshape(e.valuesG, [dOut, 1]), be.reshape(e.valuesA, [1, width]));
    const inverseD = be.reshape(be.binaryScalar('div', be.binaryScalar('add', be.binaryScalar('mul', d, s), delta), 1, true), [P, 1]);
    let bias: LayerPosterior['bias'] = null;
    if (biasEigen) {
      const inv = be.reshape(be.binaryScalar('div', be.binaryScalar('add', be.binaryScalar('mul', biasEigen.valuesG, s), delta), 1, true), [
        dOut,
        1,
      ]);
      bias = { vectorsG: keep(be.cast(biasEigen.vectorsG, dtype)), inverseD: keep(inv), noise: keepOrNull(noiseOf(inv, dOut)) };
    }
    return {
      vectorsG: keep(be.cast(e.vectorsG, dtype)),
      vectorsA: keep(be.cast(e.vectorsA, dtype)),
      inverseD: keep(inverseD),
      noise: keepOrNull(noiseOf(inverseD, P)),
      bias,
      folded: biasMode === 'folded' && layer.bias === 'folded',
      width,
      dOut,
    };
  });
}

function keepOrNull(t: Tensor | null): Tensor | null {
  return t ? keep(t) : null;
}

/** One batch: the logits, diag(J P⁻¹ Jᵀ) and, with MC, J Z for every sample, read back once. */
async function batchPredictive(batch: CurvatureBatch, posteriors: readonly LayerPosterior[], samples: number) {
  const made = scope(() => {
    const captures: KfacForwardCapture[] = [];
    const outputs = withCurvatureCapture({ capture: (c) => void captures.push(c) }, batch.forward);
    if (outputs.rank !== 2)
      throw new Error(`glmPredictive: needs outputs [N, C] (one prediction per example), got [${outputs.shape.join(', ')}]`);
    if (captures.length !== posteriors.length) {
      throw new Error(
        `glmPredictive: the forward pass has ${captures.length} K-FAC layers, the Laplace approximation ${posteriors.length}`,
      );
    }
    const be: Backend = outputs.backend;
    const [N, C] = outputs.shape;
    const variance: (Tensor | null)[] = Array.from({ length: C }, () => null);
    const jz: (Tensor | null)[] = Array.from({ length: C }, () => null);
    const add = (list: (Tensor | null)[], c: number, t: Tensor) => {
      const previous = list[c];
      list[c] = keep(previous ? be.binary('add', previous, t) : be.cast(t, t.dtype));
      previous?.dispose();
    };
    let current = 0;
    captures.forEach((capture, l) => {
      const post = posteriors[l];
      const rotatedInput = be.matmul(foldedInput(be, capture, post.folded), post.vectorsA);
      capture.output.onGrad((g) => {
        const c = current;
        const { quad, sampled } = scope(() => {
          const rotated = perExampleOuter(be, be.matmul(g, post.vectorsG), rotatedInput, capture.layout);
          const flat = be.reshape(rotated, [N, post.dOut * post.width]);
          let quad = be.matmul(be.binary('mul', flat, flat), post.inverseD);
          let sampled = post.noise ? be.matmul(flat, post.noise, { transB: true }) : null;
          if (post.bias) {
            const gamma = perExampleSum(be, be.matmul(g, post.bias.vectorsG), capture.layout);
            quad = be.binary('add', quad, be.matmul(be.binary('mul', gamma, gamma), post.bias.inverseD));
            if (sampled && post.bias.noise) sampled = be.binary('add', sampled, be.matmul(gamma, post.bias.noise, { transB: true }));
          }
          return { quad, sampled };
        });
        add(variance, c, quad);
        quad.dispose();
        if (sampled) {
          add(jz, c, sampled);
          sampled.dispose();
        }
      });
    });
    for (let c = 0; c < C; c++) {
      current = c;
      const e = new Float64Array(N * C);
      for (let n = 0; n < N; n++) e[n * C + c] = 1;
      grad(outputs, [], be.tensor(e, [N, C], outputs.value.dtype));
    }
    const stack = (list: (Tensor | null)[], cols: number) => {
      const ready = list.map((t) => (t ? t : be.fill([N, cols], 0, outputs.value.dtype)));
      const out = keep(
        be.concat(
          ready.map((t) => be.reshape(t, [1, N, cols])),
          0,
        ),
      );
      for (const t of list) t?.dispose();
      return out;
    };
    return {
      N,
      C,
      logits: keep(be.cast(outputs.value, outputs.value.dtype)),
      variance: stack(variance, 1),
      jz: samples > 0 ? stack(jz, samples) : null,
    };
  });
  const [logits, variance, jz, labels] = await Promise.all([
    made.logits.read(),
    made.variance.read(),
    made.jz ? made.jz.read() : Promise.resolve(null),
    batch.loss.targets.read(),
  ]);
  for (const t of [made.logits, made.variance, made.jz]) t?.dispose();
  const { N, C } = made;
  // variance and jz are [C, N, ·]: transpose to example-major.
  const v = new Float64Array(N * C);
  for (let c = 0; c < C; c++) for (let n = 0; n < N; n++) v[n * C + c] = variance[c * N + n];
  let z: Float64Array | null = null;
  if (jz) {
    z = new Float64Array(N * C * samples);
    for (let c = 0; c < C; c++)
      for (let n = 0; n < N; n++) for (let k = 0; k < samples; k++) z[(n * C + c) * samples + k] = jz[(c * N + n) * samples + k];
  }
  return { logits: Float64Array.from(logits), variance: v, jz: z, labels: Int32Array.from(labels), N, C };
}

function combine(
  parts: readonly { logits: Float64Array; variance: Float64Array; jz: Float64Array | null; labels: Int32Array; N: number; C: number }[],
  samples: number,
): PredictiveResult {
  if (parts.length === 0) throw new Error('glmPredictive: no data');
  const C = parts[0].C;
  const N = parts.reduce((sum, p) => sum + p.N, 0);
  const logits = new Float64Array(N * C);
  const variance = new Float64Array(N * C);
  const labels = new Int32Array(N);
  const mc = samples > 0 ? new Float64Array(N * C) : null;
  let row = 0;
  for (const p of parts) {
    logits.set(p.logits, row * C);
    variance.set(p.variance, row * C);
    labels.set(p.labels, row);
    if (mc && p.jz) {
      const shifted = new Float64Array(C);
      for (let n = 0; n < p.N; n++) {
        for (let k = 0; k < samples; k++) {
          for (let c = 0; c < C; c++) shifted[c] = p.logits[n * C + c] + p.jz[(n * C + c) * samples + k];
          const prob = softmax(shifted);
          for (let c = 0; c < C; c++) mc[(row + n) * C + c] += prob[c] / samples;
        }
      }
    }
    row += p.N;
  }
  const map = new Float64Array(N * C);
  const probit = new Float64Array(N * C);
  for (let n = 0; n < N; n++) {
    const f = logits.subarray(n * C, (n + 1) * C);
    map.set(softmax(f), n * C);
    const scaled = Array.from(f, (x, c) => x / Math.sqrt(1 + (Math.PI / 8) * variance[n * C + c]));
    probit.set(softmax(scaled), n * C);
  }
  return { N, C, logits, variance, map, probit, mc, labels };
}

/** softmax of one row, float64 and stable. */
export function softmax(row: ArrayLike<number>): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < row.length; i++) max = Math.max(max, row[i]);
  const out = new Float64Array(row.length);
  let sum = 0;
  for (let i = 0; i < row.length; i++) sum += out[i] = Math.exp(row[i] - max);
  for (let i = 0; i < row.length; i++) out[i] /= sum;
  return out;
}
