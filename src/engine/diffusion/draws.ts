// (t, ε) draws and the batches built from them (docs/curvature-tools.md §3, diffusion models).
// The diffusion loss of a point x_0 is an expectation over t ~ U{1..T} and ε ~ N(0, I); the tools
// estimate it with R fixed draws per point, ℓ(x_0) ≈ (1/R) Σ_r ‖ε_r − ε_θ(√ᾱ_{t_r} x_0 + √(1−ᾱ_{t_r}) ε_r, t_r)‖².
// Draws are seeded per (seed, example index), so the draws of a point do not depend on which other
// points are in the set (the same point keeps its draws in every LDS subset and batch layout).
//
// A batch of B points with R draws each is one forward pass on [B, R, 2 + embedDim]; the loss is the
// MSE over [B, R, 2] (each draw one loss term: K-FAC's expand setting, docs/kfac.md §2). The ELBO
// weighting multiplies draw r's squared error by w_t (schedule.ts): √w_t scales both the model's
// output and the target, so the weighted loss is a plain MSE the toolkit already understands.
import { constant } from '../autograd/variable.ts';
import * as ops from '../autograd/ops.ts';
import { streamRng } from '../data/common.ts';
import type { CurvatureBatch, CurvatureData } from '../curvature/data.ts';
import { lossSpec, type Reduction } from '../nn/losses.ts';
import { keep, type Tensor } from '../tensor.ts';
import type { TrainBatch } from '../lab/tasks/definition.ts';
import { POINT_DIM, writeTimeEmbedding, type MlpDenoiser } from './denoiser.ts';
import { elboWeight, type NoiseSchedule } from './schedule.ts';

/** 'simple': Ho et al.'s unweighted ε-loss (what training minimises); 'elbo': each draw weighted by w_t. */
export type LossWeighting = 'simple' | 'elbo';

/** R draws for each of `examples` points: t [N·R] in 1..T, ε [N·R·2], row-major by (example, draw). */
export interface Draws {
  readonly examples: number;
  readonly draws: number;
  readonly t: Int32Array;
  readonly eps: Float32Array;
}

/** Stream ids of the draw generators (any fixed, distinct numbers). */
const FIXED_STREAM = 0x0d1f;
const TRAINING_STREAM = 0x7a11;

/** Draw r of one point, appended at `at`: t uniform in 1..T, then ε. */
function drawInto(rng: ReturnType<typeof streamRng>, steps: number, t: Int32Array, eps: Float32Array, at: number): void {
  t[at] = 1 + rng.int(steps);
  eps[2 * at] = rng.normal();
  eps[2 * at + 1] = rng.normal();
}

/** R fixed draws per point; point n's draws come from stream (seed, n) only. */
export function fixedDraws(options: { seed: number; examples: number; draws: number; steps: number }): Draws {
  const { seed, examples, draws, steps } = options;
  if (!(Number.isInteger(examples) && examples >= 1)) throw new Error(`fixedDraws: examples must be a whole number ≥ 1, got ${examples}`);
  if (!(Number.isInteger(draws) && draws >= 1 && draws <= 4096))
    throw new Error(`fixedDraws: draws must be a whole number from 1 to 4096, got ${draws}`);
  const t = new Int32Array(examples * draws);
  const eps = new Float32Array(examples * draws * POINT_DIM);
  for (let n = 0; n < examples; n++) {
    const rng = streamRng(seed, FIXED_STREAM, n);
    for (let r = 0; r < draws; r++) drawInto(rng, steps, t, eps, n * draws + r);
  }
  return { examples, draws, t, eps };
}

/** The draws of some points (rows of `all`), in the order given. */
export function selectDraws(all: Draws, rows: Int32Array): Draws {
  const R = all.draws;
  const t = new Int32Array(rows.length * R);
  const eps = new Float32Array(rows.length * R * POINT_DIM);
  rows.forEach((n, i) => {
    if (!(n >= 0 && n < all.examples)) throw new Error(`selectDraws: no example ${n} (have ${all.examples})`);
    t.set(all.t.subarray(n * R, (n + 1) * R), i * R);
    eps.set(all.eps.subarray(n * R * POINT_DIM, (n + 1) * R * POINT_DIM), i * R * POINT_DIM);
  });
  return { examples: rows.length, draws: R, t, eps };
}

/**
 * The host rows of a batch: inputs [B·R, 2 + E] = (x_t, emb(t)) with x_t = √ᾱ_t x_0 + √(1−ᾱ_t) ε,
 * targets ε [B·R, 2] and, for the ELBO, √w_t per draw.
 */
export function noisyRows(
  schedule: NoiseSchedule,
  embedDim: number,
  x0: Float32Array,
  draws: Draws,
): { inputs: Float32Array; targets: Float32Array; rootWeights: Float32Array } {
  const B = draws.examples;
  const R = draws.draws;
  if (x0.length !== B * POINT_DIM) throw new Error(`noisyRows: ${x0.length / POINT_DIM} points for ${B} examples of draws`);
  const width = POINT_DIM + embedDim;
  const inputs = new Float32Array(B * R * width);
  const rootWeights = new Float32Array(B * R);
  const embeddings = new Map<number, Float32Array>();
  for (let n = 0; n < B; n++) {
    for (let r = 0; r < R; r++) {
      const row = n * R + r;
      const t = draws.t[row];
      if (!(t >= 1 && t <= schedule.steps)) throw new Error(`noisyRows: draw step ${t} outside 1..${schedule.steps}`);
      const ab = schedule.alphaBars[t - 1];
      const [a, s] = [Math.sqrt(ab), Math.sqrt(1 - ab)];
      for (let d = 0; d < POINT_DIM; d++) inputs[row * width + d] = a * x0[n * POINT_DIM + d] + s * draws.eps[row * POINT_DIM + d];
      let emb = embeddings.get(t);
      if (!emb) {
        emb = new Float32Array(embedDim);
        writeTimeEmbedding(t, embedDim, emb);
        embeddings.set(t, emb);
      }
      inputs.set(emb, row * width + POINT_DIM);
      rootWeights[row] = Math.sqrt(elboWeight(schedule, t));
    }
  }
  return { inputs, targets: Float32Array.from(draws.eps), rootWeights };
}

export interface DrawBatchOptions {
  weighting?: LossWeighting;
  /** Default 'mean' (the training loss: the average over every point, draw and coordinate). */
  reduction?: Reduction;
}

/**
 * One batch of points with their draws, as the toolkit and trainModel take it: forward gives ε̂
 * [B, R, 2] (scaled by √w_t for the ELBO), the loss is the MSE against ε (also scaled).
 */
export function drawBatch(
  model: MlpDenoiser,
  schedule: NoiseSchedule,
  x0: Float32Array,
  draws: Draws,
  options: DrawBatchOptions = {},
): TrainBatch & CurvatureBatch {
  const be = model.backend;
  const B = draws.examples;
  const R = draws.draws;
  const weighting = options.weighting ?? 'simple';
  const { inputs, targets, rootWeights } = noisyRows(schedule, model.config.embedDim, x0, draws);
  const owned: Tensor[] = [];
  const upload = (values: Float32Array, shape: number[]) => {
    const t = keep(be.tensor(values, shape, model.precision));
    owned.push(t);
    return t;
  };
  const x = upload(inputs, [B, R, model.inputDim]);
  let y = upload(targets, [B, R, POINT_DIM]);
  let scale: Tensor | null = null;
  if (weighting === 'elbo') {
    scale = upload(rootWeights, [B, R, 1]);
    const scaled = keep(be.binary('mul', y, scale));
    owned.push(scaled);
    y = scaled;
  }
  return {
    forward: () => {
      const out = model.forward(constant(x));
      return scale ? ops.mulConstant(out, scale) : out;
    },
    loss: { spec: lossSpec('mse', options.reduction ?? 'mean'), targets: y },
    dispose: () => owned.forEach((t) => t.dispose()),
  };
}

/** Rows of a point array. */
export function gatherPoints(points: Float32Array, rows: Int32Array): Float32Array {
  const out = new Float32Array(rows.length * POINT_DIM);
  rows.forEach((n, i) => {
    out[i * POINT_DIM] = points[n * POINT_DIM];
    out[i * POINT_DIM + 1] = points[n * POINT_DIM + 1];
  });
  return out;
}

/**
 * trainModel's batch source: every call draws fresh (t, ε) per example (one draw each, or `draws`)
 * from the stream (seed, call number), so a training run replays exactly.
 */
export function trainingBatches(options: {
  model: MlpDenoiser;
  schedule: NoiseSchedule;
  points: Float32Array;
  seed: number;
  draws?: number;
}): (indices: Int32Array) => TrainBatch {
  const { model, schedule, points, seed } = options;
  const R = options.draws ?? 1;
  let call = 0;
  return (indices) => {
    const rng = streamRng(seed, TRAINING_STREAM, call++);
    const t = new Int32Array(indices.length * R);
    const eps = new Float32Array(indices.length * R * POINT_DIM);
    for (let i = 0; i < indices.length * R; i++) drawInto(rng, schedule.steps, t, eps, i);
    return drawBatch(model, schedule, gatherPoints(points, indices), { examples: indices.length, draws: R, t, eps });
  };
}

/**
 * Points with fixed draws as the toolkit's data set: batch i holds examples [i·B, (i+1)·B) of
 * `rows` (default all points in order). Example n's loss is the sum over its R draws; fitting
 * K-FAC on it is K-FAC-expand over the draws.
 */
export function drawLossData(options: {
  model: MlpDenoiser;
  schedule: NoiseSchedule;
  points: Float32Array;
  draws: Draws;
  batchSize: number;
  rows?: Int32Array;
  weighting?: LossWeighting;
  reduction?: Reduction;
}): CurvatureData {
  const { model, schedule, points, draws } = options;
  const count = points.length / POINT_DIM;
  if (draws.examples !== count) throw new Error(`drawLossData: ${draws.examples} examples of draws for ${count} points`);
  const rows = options.rows ?? Int32Array.from({ length: count }, (_, i) => i);
  const size = Math.floor(options.batchSize);
  if (!(size >= 1)) throw new Error(`drawLossData: batchSize must be a positive integer, got ${options.batchSize}`);
  return {
    batches: Math.ceil(rows.length / size),
    batch: (i) => {
      const part = rows.subarray(i * size, Math.min(rows.length, (i + 1) * size));
      return drawBatch(model, schedule, gatherPoints(points, part), selectDraws(draws, part), options);
    },
  };
}
