// Shared by the K-FAC oracle tests: random layer stacks, the exact GGN blocks of their linear
// layers (float64, CPU), and the error of G ⊗ A against them (docs/kfac.md §6).
import { constant } from '../../src/engine/autograd/variable.ts';
import type { CpuBackend } from '../../src/engine/backend/cpu/cpu-backend.ts';
import { exactGgnBlock, kron, type ExactGgnBlock } from '../../src/engine/curvature/exact-ggn.ts';
import type { BiasMode, LossSetting } from '../../src/engine/curvature/factors.ts';
import { LayerStack, type StackActivation, type StackLayerSpec } from '../../src/engine/nn/models/layer-stack.ts';
import { lossSpec, type LossKind, type Reduction } from '../../src/engine/nn/losses.ts';
import type { Rng } from '../../src/engine/random.ts';
import { relativeError } from '../helpers/compare.ts';

/** Linear layers of the given widths (widths[0] = dIn), with an activation between them if asked. */
export function randomStack(rng: Rng, widths: readonly number[], bias: boolean, activation?: StackActivation): StackLayerSpec[] {
  const layers: StackLayerSpec[] = [];
  for (let i = 0; i + 1 < widths.length; i++) {
    if (i > 0 && activation) layers.push({ type: activation });
    const weight = Array.from({ length: widths[i + 1] }, () => Array.from(rng.uniformArray(widths[i])));
    layers.push(
      bias ? { type: 'linear', weight, bias: Array.from(rng.uniformArray(widths[i + 1], -0.5, 0.5)) } : { type: 'linear', weight },
    );
  }
  return layers;
}

export function nested(rng: Rng, shape: readonly number[], draw: () => number = () => rng.uniform(-1, 1)): unknown {
  if (shape.length === 0) return draw();
  return Array.from({ length: shape[0] }, () => nested(rng, shape.slice(1), draw));
}

export interface OracleProblem {
  layers: StackLayerSpec[];
  setting: LossSetting;
  loss: LossKind;
  reduction: Reduction;
  /** [N, R, dIn], flattened. */
  inputs: { values: number[]; shape: number[] };
  targets: { values: number[]; shape: number[] };
}

/** The exact GGN blocks of every linear layer, in order, with the layer's index in `layers`. */
export function exactBlocks(cpu: CpuBackend, p: OracleProblem, bias: BiasMode): { index: number; block: ExactGgnBlock }[] {
  const model = new LayerStack({ backend: cpu, seed: 0, precision: 'float64' }, { layers: p.layers, setting: p.setting });
  const x = cpu.tensor(p.inputs.values, p.inputs.shape, 'float64');
  const targets = cpu.tensor(p.targets.values, p.targets.shape, p.loss === 'ce' ? 'int32' : 'float64');
  const loss = { spec: lossSpec(p.loss, p.reduction), targets };
  try {
    return model.linears.map(({ index, layer }) => ({
      index,
      block: exactGgnBlock(() => model.forward(constant(x)), loss, layer.weight, layer.bias, { bias }),
    }));
  } finally {
    x.dispose();
    targets.dispose();
    model.dispose();
  }
}

/** Relative error of the K-FAC block (G ⊗ A, plus G for a separate bias) against the exact one. */
export function kfacError(A: ArrayLike<number>, G: ArrayLike<number>, exact: ExactGgnBlock): number {
  const approx = kron(G, A);
  if (approx.size !== exact.weight.size) throw new Error(`G ⊗ A has size ${approx.size}, the exact block ${exact.weight.size}`);
  const weightError = relativeError(approx.values, exact.weight.values);
  return exact.bias ? Math.max(weightError, relativeError(G, exact.bias.values)) : weightError;
}

export const flat = (rows: number[][]): number[] => rows.flat();
