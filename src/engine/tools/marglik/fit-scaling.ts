// Time per Kronecker Laplace fit, K-FAC-expand against K-FAC-reduce, as the weight-sharing size R
// grows (docs/curvature-tools.md §2; the seed paper's claim that reduce makes marglik cheaper). Models
// are built at each size directly: a tiny ViT on MNIST padded to 32×32 with patches of 8, 4 and 2
// (R = 16, 64, 256 tokens in every transformer linear layer), and a CNN with global average pooling
// on MNIST average-pooled to 4×4, 8×8 and 16×16 (R = 16, 64, 256 positions in both convolutions).
// Untrained weights (the cost does not depend on them). Used by the benchmark and the Laplace page.
import * as ops from '../../autograd/ops.ts';
import { constant, type Variable } from '../../autograd/variable.ts';
import type { Backend } from '../../backend/backend.ts';
import { throwIfAborted, yieldToEventLoop, type CurvatureData } from '../../curvature/data.ts';
import type { KfacApprox } from '../../curvature/factors.ts';
import { loadMnist } from '../../data/mnist.ts';
import { fitLaplace } from '../../laplace/kron-laplace.ts';
import { Conv2d } from '../../nn/conv2d.ts';
import { Linear } from '../../nn/linear.ts';
import { lossSpec } from '../../nn/losses.ts';
import { Vit } from '../../nn/models/vit.ts';
import { Module, type LayerContext } from '../../nn/module.ts';

export type ScalingFamily = 'vit' | 'cnn';

export interface ScalingCase {
  family: ScalingFamily;
  model: string;
  R: number;
  /** Image side the model takes. */
  size: number;
  build(backend: Backend): Module & { forward(x: Variable): Variable };
}

/**
 * A CNN the shape of a (tiny) wide ResNet stage: two 3×3 convolutions, 1→32→64 channels at full
 * resolution (R = size² positions each, dIn = 9 and 288), ReLU, global average pooling, a linear
 * head. Unlike the lab's LeNet-like CNN (flatten + a wide dense layer, whose eigendecomposition
 * dominates a fit whatever the approximation), its curvature cost is in the weight-shared layers.
 */
export class GapCnn extends Module {
  readonly conv1: Conv2d;
  readonly conv2: Conv2d;
  readonly head: Linear;

  constructor(ctx: LayerContext) {
    super(ctx);
    this.conv1 = this.addModule('conv1', new Conv2d(ctx, 'conv1', 1, 32, 3, { padding: 1 }));
    this.conv2 = this.addModule('conv2', new Conv2d(ctx, 'conv2', 32, 64, 3, { padding: 1 }));
    this.head = this.addModule('head', new Linear(ctx, 'head', 64, 10));
  }

  forward(x: Variable): Variable {
    const h = ops.relu(this.conv2.forward(ops.relu(this.conv1.forward(x))));
    const [n, c, height, width] = h.shape;
    return this.head.forward(ops.mean(ops.reshape(h, [n, c, height * width]), 2));
  }
}

export const SCALING_CASES: readonly ScalingCase[] = [
  ...[8, 4, 2].map((patch) => ({
    family: 'vit' as const,
    model: `ViT 32×32 patch ${patch} (dim 32, depth 2)`,
    R: (32 / patch) ** 2,
    size: 32,
    build: (backend: Backend) =>
      new Vit({ backend, seed: 0 }, { inChannels: 1, height: 32, width: 32, patch, dim: 32, depth: 2, heads: 4, classes: 10 }),
  })),
  ...[4, 8, 16].map((size) => ({
    family: 'cnn' as const,
    model: `CNN ${size}×${size} conv32-conv64-GAP`,
    R: size * size,
    size,
    build: (backend: Backend) => new GapCnn({ backend, seed: 0 }),
  })),
];

/** MNIST 28×28 images zero-padded to 32×32, then average-pooled to `size`×`size` (size divides 32). */
export function paddedImages(source: Float32Array, count: number, size: number): Float32Array {
  const out = new Float32Array(count * size * size);
  const pool = 32 / size;
  for (let n = 0; n < count; n++) {
    for (let i = 0; i < size; i++) {
      for (let j = 0; j < size; j++) {
        let sum = 0;
        for (let a = 0; a < pool; a++) {
          for (let b = 0; b < pool; b++) {
            const y = i * pool + a - 2;
            const x = j * pool + b - 2;
            if (y >= 0 && y < 28 && x >= 0 && x < 28) sum += source[n * 784 + y * 28 + x];
          }
        }
        out[n * size * size + i * size + j] = sum / (pool * pool);
      }
    }
  }
  return out;
}

export interface ScalingRow {
  model: string;
  R: number;
  approx: KfacApprox;
  /** Median of the timed fits (ms), and the median of each part. */
  fitMs: number;
  lossMs: number;
  factorsMs: number;
  eigenMs: number;
}

export interface ScalingOptions {
  families?: readonly ScalingFamily[];
  /** Only the cases with R ≤ maxR (default all). */
  maxR?: number;
  /** MNIST training images per fit (default 256), in batches of `batch` (default 128). */
  examples?: number;
  batch?: number;
  /** Timed fits per flavour after one untimed warm-up each, interleaved expand/reduce (default 3). */
  repeats?: number;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number, model: string) => void;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Time expand and reduce Laplace fits (MC Fisher) of every case of the families, on `backend`. */
export async function laplaceFitScaling(backend: Backend, options: ScalingOptions = {}): Promise<ScalingRow[]> {
  const families = options.families ?? ['vit', 'cnn'];
  const examples = options.examples ?? 256;
  const batch = options.batch ?? 128;
  const repeats = options.repeats ?? 3;
  const mnist = await loadMnist({ size: 28, normalize: true, trainLimit: examples });
  const cases = SCALING_CASES.filter((c) => families.includes(c.family) && c.R <= (options.maxR ?? Infinity));
  const rows: ScalingRow[] = [];
  const total = cases.length * 2 * (repeats + 1);
  let done = 0;
  for (const c of cases) {
    const model = c.build(backend);
    try {
      const x = paddedImages(mnist.train.images, examples, c.size);
      const pixels = c.size * c.size;
      const data: CurvatureData = {
        batches: Math.ceil(examples / batch),
        batch: (i) => {
          const n = Math.min(batch, examples - i * batch);
          const xs = backend.tensor(x.subarray(i * batch * pixels, (i * batch + n) * pixels), [n, 1, c.size, c.size]);
          const ys = backend.tensor(mnist.train.labels.subarray(i * batch, i * batch + n), [n], 'int32');
          return {
            forward: () => model.forward(constant(xs)),
            loss: { spec: lossSpec('ce', 'mean'), targets: ys },
            dispose() {
              xs.dispose();
              ys.dispose();
            },
          };
        },
      };
      const seen: Record<KfacApprox, { total: number; loss: number; factors: number; eigen: number }[]> = { expand: [], reduce: [] };
      for (let rep = 0; rep <= repeats; rep++) {
        for (const approx of ['expand', 'reduce'] as const) {
          throwIfAborted(options.signal, 'laplaceFitScaling');
          const laplace = await fitLaplace(model, data, { approx, fisher: 'mc', seed: 1, signal: options.signal });
          // The first fit of each flavour warms up (pipelines, buffer pools) and is not counted.
          if (rep > 0) seen[approx].push({ total: laplace.fitMs, ...laplace.partsMs });
          laplace.dispose();
          options.onProgress?.(++done, total, c.model);
          await yieldToEventLoop();
        }
      }
      for (const approx of ['expand', 'reduce'] as const) {
        const s = seen[approx];
        rows.push({
          model: c.model,
          R: c.R,
          approx,
          fitMs: median(s.map((p) => p.total)),
          lossMs: median(s.map((p) => p.loss)),
          factorsMs: median(s.map((p) => p.factors)),
          eigenMs: median(s.map((p) => p.eigen)),
        });
      }
    } finally {
      model.dispose();
    }
  }
  return rows;
}
