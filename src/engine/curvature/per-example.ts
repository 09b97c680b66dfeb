// Per-example gradients of the K-FAC layers (docs/curvature-tools.md §0): example n's loss ℓ_n is
// the sum of its loss terms without the factor c, and its gradient for a layer is
// Γ_n = Σ_{r ∈ n} b_r a_rᵀ over the example's shared positions — the input of influence functions
// and WoodFisher. One forward and one backward pass of Σ_n ℓ_n give all of them at once (examples do
// not interact in the forward pass), batched on the device.
import { noGrad } from '../autograd/variable.ts';
import type { Backend } from '../backend/backend.ts';
import { withCurvatureCapture, type KfacForwardCapture, type SharingLayout } from '../nn/curvature-hook.ts';
import { lossSpec } from '../nn/losses.ts';
import type { Module } from '../nn/module.ts';
import { keep, scope, type Tensor } from '../tensor.ts';
import type { CurvatureBatch } from './data.ts';
import { backPropagatedSeeds, runSeedPasses, type BiasMode } from './factors.ts';

export interface PerExampleLayerGradients {
  /** Position among the forward pass's K-FAC layers. */
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
  /**
   * Return Q_Gᵀ Γ_n Q_A instead of Γ_n (and Q_Gᵀ γ_n for a separate bias): per layer index, the
   * eigenbasis of a fitted curvature (`await layer.eigen()`), or null to leave that layer as it is.
   * The projection runs on the rows (ã = a Q_A, b̃ = b Q_G), never on a P×P matrix.
   */
  bases?: readonly ({ vectorsG: Tensor; vectorsA: Tensor } | null)[];
}

/**
 * Every example's gradient of its own loss ℓ_n for each K-FAC layer of the batch's forward pass,
 * on the device. Assumes examples are independent in the forward pass (no batch statistics). Sync;
 * the caller disposes the tensors (and the batch).
 */
export function perExampleGradients(model: Module, batch: CurvatureBatch, options: PerExampleOptions = {}): PerExampleLayerGradients[] {
  const biasMode = options.bias ?? 'folded';
  const parameters = new Set(model.parameters().map((p) => p.variable));
  return scope(() => {
    const captures: KfacForwardCapture[] = [];
    const outputs = withCurvatureCapture({ capture: (c) => void captures.push(c) }, batch.forward);
    const be = outputs.backend;
    const wanted = options.layers ? new Set(options.layers) : null;
    const results: PerExampleLayerGradients[] = [];
    captures.forEach((c, index) => {
      if (wanted && !wanted.has(index)) return;
      if (!parameters.has(c.layer.weight.variable))
        throw new Error(`perExampleGradients: layer "${c.layer.name}" is not part of the model`);
      const folded = biasMode === 'folded' && c.layer.bias !== null;
      const basis = options.bases?.[index] ?? null;
      const a = basis ? be.matmul(foldedInput(be, c, folded), basis.vectorsA) : foldedInput(be, c, folded);
      c.output.onGrad((gradient) => {
        const b = basis ? be.matmul(gradient, basis.vectorsG) : gradient;
        const entry: PerExampleLayerGradients = {
          index,
          name: c.layer.name,
          gradients: keep(perExampleOuter(be, b, a, c.layout)),
          biasGradients:
            !folded && c.layer.bias ? keep(be.reshape(perExampleSum(be, b, c.layout), [c.layout.examples, b.shape[1], 1])) : null,
        };
        results.push(entry);
      });
    });
    if (wanted) {
      for (const k of wanted)
        if (!(k >= 0 && k < captures.length))
          throw new Error(`perExampleGradients: no K-FAC layer ${k} (the model has ${captures.length})`);
    }
    // ∇_f Σ_m ℓ_m: the empirical seed of the summed loss (c = 1, ignored terms zero).
    const sum = { spec: lossSpec(batch.loss.spec.kind, 'sum'), targets: batch.loss.targets };
    const seeds = noGrad(() => backPropagatedSeeds(be, outputs.value, sum, 'empirical', 1, 0));
    runSeedPasses(outputs, seeds, false);
    // The hooks fire in backward order (last layer first).
    return results.sort((x, y) => x.index - y.index);
  });
}

/** The layer's input rows [rows, width], with the constant 1 appended when the bias is folded. */
export function foldedInput(be: Backend, c: KfacForwardCapture, folded: boolean): Tensor {
  return folded ? be.concat([c.input, be.fill([c.input.shape[0], 1], 1, c.input.dtype)], 1) : c.input;
}

/** Σ_{r ∈ n} b_r a_rᵀ for rows b [rows, p], a [rows, q] grouped by the layout's examples: [N, p, q]. */
export function perExampleOuter(be: Backend, b: Tensor, a: Tensor, layout: SharingLayout): Tensor {
  return scope(() => {
    const [p, q] = [b.shape[1], a.shape[1]];
    if (layout.kind === 'dense') {
      const { examples: N, positions: R } = layout;
      return be.matmul(be.reshape(b, [N, R, p]), be.reshape(a, [N, R, q]), { transA: true });
    }
    const rows = b.shape[0];
    const outer = be.matmul(be.reshape(b, [rows, p, 1]), be.reshape(a, [rows, 1, q]));
    return be.scatterAdd(outer, layout.index, layout.examples);
  });
}

/** Σ_{r ∈ n} b_r for rows [rows, p]: [N, p]. */
export function perExampleSum(be: Backend, b: Tensor, layout: SharingLayout): Tensor {
  return scope(() => {
    if (layout.kind === 'dense') return be.sharedReduce(be.reshape(b, [layout.examples, layout.positions, b.shape[1]]), 'sum');
    return be.scatterAdd(b, layout.index, layout.examples);
  });
}
