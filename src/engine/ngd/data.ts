// Data for natural gradient on wide networks (docs/curvature-tools.md §7): n unit-norm inputs and
// scalar targets. MNIST 4 vs 9 (14×14, pixels centred by the subset's mean image, then each row
// scaled to norm 1; target +1 for a 4, −1 for a 9) or 2-D points on the unit circle (target
// sin 3θ), given as (cos θ, sin θ, 1)/√2: without the constant coordinate the ReLU kernel of
// points on a circle has no odd harmonics above the first and the Gram matrix of more than a
// few points is singular. Unit norm is the theorem's assumption (Zhang, Martens & Grosse 2019; Du et al. 2019).
import { loadMnist } from '../data/mnist.ts';
import { streamRng } from '../data/common.ts';

export const NGD_DATASETS = ['mnist-4-9', 'points'] as const;
export type NgdDataset = (typeof NGD_DATASETS)[number];

export interface NgdData {
  dataset: NgdDataset;
  /** [n, d] row-major, every row of norm 1. */
  inputs: Float64Array;
  targets: Float64Array;
  n: number;
  d: number;
}

/** Scale each row of [n, d] to unit norm (a zero row stays zero: callers avoid it). */
export function normalizeRows(x: Float64Array, n: number, d: number): Float64Array {
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < d; j++) s += x[i * d + j] ** 2;
    const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
    for (let j = 0; j < d; j++) x[i * d + j] *= inv;
  }
  return x;
}

/** n points at random angles θ on the unit circle as (cos θ, sin θ, 1)/√2, target sin 3θ. */
export function circlePoints(n: number, seed: number): NgdData {
  const rng = streamRng(seed, 0x9d);
  const inputs = new Float64Array(n * 3);
  const targets = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const theta = rng.uniform(0, 2 * Math.PI);
    inputs.set([Math.cos(theta) / Math.SQRT2, Math.sin(theta) / Math.SQRT2, 1 / Math.SQRT2], 3 * i);
    targets[i] = Math.sin(3 * theta);
  }
  return { dataset: 'points', inputs, targets, n, d: 3 };
}

/** The first n/2 fours and n/2 nines (n even; odd n gets one more 4) of the stored 14×14 training order. */
export async function mnistFoursNines(n: number): Promise<NgdData> {
  if (!(Number.isInteger(n) && n >= 2 && n <= 2000)) throw new Error(`mnist-4-9: n must be a whole number in 2 … 2000, got ${n}`);
  const data = await loadMnist({ size: 14, trainLimit: 8000 });
  const d = 196;
  const want = { 4: Math.ceil(n / 2), 9: Math.floor(n / 2) };
  const rows: number[] = [];
  const targets: number[] = [];
  for (let k = 0; k < data.train.count && rows.length < n; k++) {
    const label = data.train.labels[k];
    if ((label === 4 || label === 9) && want[label] > 0) {
      want[label]--;
      rows.push(k);
      targets.push(label === 4 ? 1 : -1);
    }
  }
  if (rows.length < n) throw new Error(`mnist-4-9: only ${rows.length} fours and nines found`);
  const inputs = new Float64Array(n * d);
  rows.forEach((k, i) => {
    for (let j = 0; j < d; j++) inputs[i * d + j] = data.train.images[k * d + j];
  });
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += inputs[i * d + j] / n;
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) inputs[i * d + j] -= mean[j];
  return { dataset: 'mnist-4-9', inputs: normalizeRows(inputs, n, d), targets: Float64Array.from(targets), n, d };
}

export async function loadNgdData(dataset: NgdDataset, n: number, seed: number): Promise<NgdData> {
  if (dataset === 'points') {
    if (!(Number.isInteger(n) && n >= 1 && n <= 2000)) throw new Error(`points: n must be a whole number in 1 … 2000, got ${n}`);
    return circlePoints(n, seed);
  }
  return mnistFoursNines(n);
}
