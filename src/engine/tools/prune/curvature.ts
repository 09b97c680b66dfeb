// What each pruning method knows about a layer's weight block (docs/curvature-tools.md §5), biases
// excluded (they are never pruned, so every curvature here is of the weights W alone):
// - magnitude: nothing (the score is w²);
// - diag-fisher: diag(F) of F = λI + (1/N) Σ_n g_n g_nᵀ (per-example weight gradients g_n);
// - woodfisher: F⁻¹ of that F in diagonal blocks by the Woodbury recursion (woodbury.ts);
// - kfac-obs: (G ⊗ A + λI)⁻¹ with the bias kept out of A, by exact damping in the eigenbasis (the
//   toolkit's KroneckerLayer: inverseDiagonal, inverseApply);
// - ggn-obs: (H + λI)⁻¹ of the dense exact GGN weight block (tiny float64 CPU models, one batch).
// The OBS methods expose diag(F⁻¹) and v ↦ F⁻¹ v, all a pruning step needs.
import type { Variable } from '../../autograd/variable.ts';
import { fitCurvature, type KroneckerCurvature } from '../../curvature/fit.ts';
import { exactCurvatureMatrix } from '../../curvature/exact-ggn.ts';
import { forEachBatch, type CurvatureData, type RunControl } from '../../curvature/data.ts';
import type { FisherType, KfacApprox, LossSetting } from '../../curvature/factors.ts';
import { perExampleGradients } from '../../curvature/per-example.ts';
import { hostEigh } from '../../linalg/host-eigh.ts';
import { withCurvatureCapture } from '../../nn/curvature-hook.ts';
import type { Module } from '../../nn/module.ts';
import { keep, readAndDispose, scope, TensorArena, type Tensor } from '../../tensor.ts';
import { BlockWoodburyInverse } from './woodbury.ts';

export const PRUNE_METHODS = ['magnitude', 'diag-fisher', 'woodfisher', 'kfac-obs', 'ggn-obs'] as const;
export type PruneMethod = (typeof PRUNE_METHODS)[number];

/** The methods that score by w²/(2[F⁻¹]_qq) and can compensate (optimal brain surgeon). */
export function isObsMethod(method: PruneMethod): boolean {
  return method === 'woodfisher' || method === 'kfac-obs' || method === 'ggn-obs';
}

/** A K-FAC layer of the model as pruning sees it: its weight [dOut, dIn] (a conv's is [Cout, Cin·kh·kw]). */
export interface PrunableLayer {
  /** Position among the model's K-FAC layers, in forward order (as `factors` counts them). */
  index: number;
  name: string;
  dOut: number;
  dIn: number;
  weight: Variable;
}

/** The K-FAC layers of `forward()` (one pass with the curvature hook on), each once, in forward order. */
export function prunableLayers(model: Module, forward: () => unknown): PrunableLayer[] {
  const parameters = new Set(model.parameters().map((p) => p.variable));
  const layers: PrunableLayer[] = [];
  const arena = new TensorArena();
  try {
    arena.run(() =>
      withCurvatureCapture(
        {
          capture: (c) => {
            const weight = c.layer.weight.variable;
            if (layers.some((l) => l.weight === weight)) return;
            if (!parameters.has(weight)) throw new Error(`prune: layer "${c.layer.name}" is not part of the model`);
            layers.push({ index: layers.length, name: c.layer.name, dOut: weight.shape[0], dIn: weight.shape[1], weight });
          },
        },
        () => forward(),
      ),
    );
  } finally {
    arena.dispose();
  }
  if (layers.length === 0) throw new Error('prune: the model has no K-FAC (linear-like) layers');
  return layers;
}

/** One layer's curvature as a method knows it. */
export interface LayerCurvature {
  /** OBS methods: diag(F⁻¹); diag-fisher: diag(F) (with λ); magnitude: null. [dOut·dIn], row-major. */
  diagonal: Float64Array | null;
  /** OBS methods: v ↦ F⁻¹ v on [dOut·dIn]. */
  applyInverse: ((v: Float64Array) => Promise<Float64Array>) | null;
}

export interface PruneCurvature {
  method: PruneMethod;
  damping: number;
  layers: LayerCurvature[];
  /** Wall time of the estimate, ms. */
  ms: number;
  dispose(): void;
}

export interface CurvatureOptions extends RunControl {
  /** λ > 0 (0 allowed for ggn-obs and kfac-obs when the curvature is invertible). */
  damping: number;
  /** N: the examples in `data` (woodfisher's mean needs it before the first one; checked at the end). */
  examples: number;
  /** woodfisher: coordinates per diagonal block (default 128). */
  blockSize?: number;
  /** woodfisher: examples per Woodbury update (default 16; 1 = the literal rank-1 recursion). */
  chunk?: number;
  /** kfac-obs: the K-FAC approximation and Fisher of the fit (defaults: 'expand', 'type-2'). */
  approx?: KfacApprox;
  fisher?: FisherType;
  setting?: LossSetting;
  mcSamples?: number;
  seed?: number;
  /** Per-layer 0/1 masks of weights already pruned (gradual pruning): their gradients are zeroed, decoupling them from F. */
  masks?: readonly Uint8Array[];
}

/** The method's curvature of each layer's weight block over `data`. The caller disposes it. */
export async function estimatePruneCurvature(
  method: PruneMethod,
  model: Module,
  data: CurvatureData,
  layers: readonly PrunableLayer[],
  options: CurvatureOptions,
): Promise<PruneCurvature> {
  const started = performance.now();
  const { damping } = options;
  if (!(damping >= 0 && Number.isFinite(damping))) throw new Error(`prune: damping must be a finite number ≥ 0, got ${damping}`);
  if ((method === 'woodfisher' || method === 'diag-fisher') && !(damping > 0))
    throw new Error(`prune: ${method} needs damping > 0 (its F⁻¹ starts as I/λ)`);
  const finish = (layerCurvatures: LayerCurvature[], dispose: () => void): PruneCurvature => ({
    method,
    damping,
    layers: layerCurvatures,
    ms: performance.now() - started,
    dispose,
  });
  switch (method) {
    case 'magnitude':
      return finish(
        layers.map(() => ({ diagonal: null, applyInverse: null })),
        () => undefined,
      );
    case 'diag-fisher':
      return finish(await diagonalFisher(model, data, layers, options), () => undefined);
    case 'woodfisher': {
      const inverses = await woodburyInverses(model, data, layers, options);
      const out: LayerCurvature[] = [];
      for (const w of inverses) out.push({ diagonal: await w.diagonal(), applyInverse: (v) => w.apply(v) });
      return finish(out, () => inverses.forEach((w) => w.dispose()));
    }
    case 'kfac-obs': {
      const curvature = await fitCurvature(model, data, {
        approx: options.approx ?? 'expand',
        fisher: options.fisher ?? 'type-2',
        bias: 'separate',
        mcSamples: options.mcSamples,
        seed: options.seed,
        setting: options.setting,
        signal: options.signal,
        onProgress: options.onProgress,
      });
      try {
        return finish(await kroneckerLayers(curvature, layers, damping), () => curvature.dispose());
      } catch (e) {
        curvature.dispose();
        throw e;
      }
    }
    case 'ggn-obs':
      return finish(exactGgnLayers(model, data, layers, damping), () => undefined);
  }
}

/** Every example's weight gradient of each layer as [n, dOut·dIn] (masked coordinates zeroed), for one batch. */
function batchGradients(
  model: Module,
  data: CurvatureData,
  layers: readonly PrunableLayer[],
  masks: readonly Uint8Array[] | undefined,
  use: (k: number, gradients: Tensor) => void,
  control: RunControl,
  what: string,
): Promise<number> {
  let total = 0;
  return forEachBatch(data, control, what, async (batch) => {
    const grads = perExampleGradients(model, batch, { bias: 'separate' });
    try {
      if (grads.length !== layers.length)
        throw new Error(`prune: the batch's forward pass has ${grads.length} K-FAC layers, the model ${layers.length}`);
      for (const [k, g] of grads.entries()) {
        const l = layers[k];
        const be = g.gradients.backend;
        const flat = scope(() => {
          const rows = be.reshape(g.gradients, [g.gradients.shape[0], l.dOut * l.dIn]);
          const mask = masks?.[k];
          return keep(mask ? be.binary('mul', rows, be.tensor(mask, [1, l.dOut * l.dIn], rows.dtype)) : be.cast(rows, rows.dtype));
        });
        try {
          use(k, flat);
        } finally {
          flat.dispose();
        }
        if (k === 0) total += flat.shape[0];
      }
    } finally {
      for (const g of grads) {
        g.gradients.dispose();
        g.biasGradients?.dispose();
      }
    }
  }).then(() => total);
}

async function diagonalFisher(
  model: Module,
  data: CurvatureData,
  layers: readonly PrunableLayer[],
  options: CurvatureOptions,
): Promise<LayerCurvature[]> {
  const sums: (Tensor | null)[] = layers.map(() => null);
  try {
    const count = await batchGradients(
      model,
      data,
      layers,
      options.masks,
      (k, g) => {
        const be = g.backend;
        const prev = sums[k];
        sums[k] = keep(
          scope(() =>
            prev ? be.binary('add', prev, be.reduce('sum', be.binary('mul', g, g), 0)) : be.reduce('sum', be.binary('mul', g, g), 0),
          ),
        );
        prev?.dispose();
      },
      options,
      'diag-fisher',
    );
    checkCount(count, options.examples);
    const out: LayerCurvature[] = [];
    for (const s of sums) {
      const values = await s!.read();
      const d = new Float64Array(values.length);
      for (let q = 0; q < d.length; q++) d[q] = options.damping + values[q] / count;
      out.push({ diagonal: d, applyInverse: null });
    }
    return out;
  } finally {
    sums.forEach((s) => s?.dispose());
  }
}

async function woodburyInverses(
  model: Module,
  data: CurvatureData,
  layers: readonly PrunableLayer[],
  options: CurvatureOptions,
): Promise<BlockWoodburyInverse[]> {
  const be = model.backend;
  const inverses = layers.map(
    (l) =>
      new BlockWoodburyInverse(be, {
        size: l.dOut * l.dIn,
        blockSize: options.blockSize ?? 128,
        examples: options.examples,
        damping: options.damping,
        chunk: options.chunk,
        dtype: l.weight.value.dtype,
      }),
  );
  try {
    const count = await batchGradients(model, data, layers, options.masks, (k, g) => inverses[k].add(g), options, 'woodfisher');
    checkCount(count, options.examples);
    return inverses;
  } catch (e) {
    inverses.forEach((w) => w.dispose());
    throw e;
  }
}

function checkCount(count: number, expected: number): void {
  if (count !== expected) throw new Error(`prune: the data has ${count} examples, but examples = ${expected} was given`);
}

async function kroneckerLayers(
  curvature: KroneckerCurvature,
  layers: readonly PrunableLayer[],
  damping: number,
): Promise<LayerCurvature[]> {
  const out: LayerCurvature[] = [];
  for (const l of layers) {
    const block = curvature.layers.find((c) => c.name === l.name);
    if (!block) throw new Error(`prune: no K-FAC factors for layer "${l.name}"`);
    if (block.width !== l.dIn) throw new Error(`prune: layer "${l.name}": A is ${block.width} wide, the weight has ${l.dIn} inputs`);
    const diagonal = Float64Array.from(await readAndDispose(await block.inverseDiagonal(damping)));
    const be = l.weight.backend;
    const dtype = l.weight.value.dtype;
    out.push({
      diagonal,
      applyInverse: async (v) => {
        const input = be.tensor(v, [l.dOut, l.dIn], dtype);
        try {
          return Float64Array.from(await readAndDispose(await block.inverseApply(input, { damping })));
        } finally {
          input.dispose();
        }
      },
    });
  }
  return out;
}

function exactGgnLayers(model: Module, data: CurvatureData, layers: readonly PrunableLayer[], damping: number): LayerCurvature[] {
  if (data.batches !== 1) throw new Error(`prune: ggn-obs needs the data as one batch (tiny models), got ${data.batches}`);
  const batch = data.batch(0);
  try {
    const H = exactCurvatureMatrix(model, batch.forward, batch.loss, { bias: 'separate' });
    if (H.layers.length !== layers.length)
      throw new Error(`prune: the exact GGN has ${H.layers.length} layers, the model ${layers.length}`);
    return H.layers.map((block, k) => {
      const n = layers[k].dOut * layers[k].dIn;
      if (block.dOut * block.width !== n) throw new Error(`prune: exact GGN block of "${block.name}" has the wrong size`);
      const m = new Float64Array(n * n);
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) m[i * n + j] = H.values[(block.offset + i) * H.size + block.offset + j];
      const inverse = dampedInverse(m, n, damping);
      const diagonal = new Float64Array(n);
      for (let q = 0; q < n; q++) diagonal[q] = inverse[q * n + q];
      return {
        diagonal,
        applyInverse: (v: Float64Array) => {
          const out = new Float64Array(n);
          for (let i = 0; i < n; i++) {
            let s = 0;
            for (let j = 0; j < n; j++) s += inverse[i * n + j] * v[j];
            out[i] = s;
          }
          return Promise.resolve(out);
        },
      };
    });
  } finally {
    batch.dispose?.();
  }
}

/** (M + λI)⁻¹ of a symmetric PSD matrix by its eigendecomposition (float64); throws when singular. */
export function dampedInverse(m: Float64Array, n: number, damping: number): Float64Array {
  const { values, vectors } = hostEigh(m, n);
  const top = Math.max(values[0] ?? 0, 0) + damping;
  const out = new Float64Array(n * n);
  for (let k = 0; k < n; k++) {
    const lambda = Math.max(values[k], 0) + damping;
    if (!(lambda > 1e-12 * top)) throw new Error('prune: the curvature block is singular; add damping');
    for (let i = 0; i < n; i++) {
      const vi = vectors[i * n + k] / lambda;
      if (vi === 0) continue;
      for (let j = 0; j < n; j++) out[i * n + j] += vi * vectors[j * n + k];
    }
  }
  return out;
}
