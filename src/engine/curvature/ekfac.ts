// EK-FAC (docs/curvature-tools.md §1, George et al. 2018): in K-FAC's eigenbasis Q_G ⊗ Q_A, the best
// diagonal of the layer's curvature,
//   Λ_ij = Σ_m Σ_k ((Q_Gᵀ Γ_{m,k} Q_A)_ij)²,   Γ_{m,k} = Σ_{r ∈ term m} b_r^{(m,k)} a_rᵀ,
// with the back-propagated vectors of the factors themselves (same seeds, same √c scaling, docs/
// kfac.md §3), so that with type-2 Σ vec(Γ) vec(Γ)ᵀ is the exact GGN block and
// Λ = diag((Q_G⊗Q_A)ᵀ GGN (Q_G⊗Q_A)). Nothing of size P×P is formed: the captured rows are
// projected (ã = a Q_A once per batch, b̃ = b Q_G per pass) and each example's Q_Gᵀ Γ Q_A = Σ_r b̃_rᵀ ã_r
// is one batched matmul on the device.
//
// Which rows form one loss term (the per-term rule): outputs that keep the shared positions
// ([N, R, C], expand setting) get one backward pass per position, and each example's rows are summed
// within the pass; outputs [N, C] have one term per example (rows of an example summed). A loss whose
// terms are not examples of the layout (node-level GCN losses, all nodes one example) is outside
// this rule: there Λ sums the terms of the one example.
import { noGrad } from '../autograd/variable.ts';
import type { Backend } from '../backend/backend.ts';
import { withCurvatureCapture, type KfacForwardCapture } from '../nn/curvature-hook.ts';
import type { Module } from '../nn/module.ts';
import { keep, readAndDispose, scope, type Tensor } from '../tensor.ts';
import { batchTerms, forEachBatch, LossScaleTracker, type CurvatureData, type RunControl } from './data.ts';
import { backPropagatedSeeds, runSeedPasses, type FisherType } from './factors.ts';
import type { KroneckerCurvature } from './fit.ts';
import {
  checkDamping,
  checkVector,
  eigenbasisInverseApply,
  eigenbasisInverseDiagonal,
  eigenbasisMultiply,
  logDetOfDiagonal,
  type KroneckerEigen,
} from './kronecker.ts';
import { foldedInput, perExampleOuter, perExampleSum } from './per-example.ts';

/** A curvature block (Q_G⊗Q_A) diag(D) (Q_G⊗Q_A)ᵀ with D = Λ. Same conventions as KroneckerBlock. */
export interface EkfacBlock {
  readonly dOut: number;
  readonly width: number;
  /** Λ [dOut, width] on the device (owned). */
  readonly lambda: Tensor;
  multiply(v: Tensor): Tensor;
  inverseApply(v: Tensor, options: { damping: number }): Promise<Tensor>;
  logDet(options: { scale?: number; damping: number }): Promise<number>;
  inverseDiagonal(damping: number): Promise<Tensor>;
  /** tr = Σ Λ. */
  trace(): Promise<number>;
  /** Λ as host values, [dOut, width] row-major. */
  spectrum(): Promise<Float64Array>;
}

export interface EkfacLayer extends EkfacBlock {
  readonly index: number;
  readonly name: string;
  /** The separate bias's block (basis Q_G alone, Λ_bias [dOut, 1]); null unless the curvature's bias is separate. */
  readonly biasBlock: EkfacBlock | null;
}

export interface EkfacCurvature {
  layers: EkfacLayer[];
  fitMs: number;
  /** Frees Λ (the eigenbases belong to the curvature). */
  dispose(): void;
}

export interface EkfacOptions extends RunControl {
  /** Defaults: the curvature's own Fisher type, MC samples and seed. */
  fisher?: FisherType;
  mcSamples?: number;
  seed?: number;
}

class EigenbasisBlock implements EkfacBlock {
  readonly dOut: number;
  readonly width: number;

  constructor(
    private readonly vectorsG: Tensor,
    private readonly vectorsA: Tensor,
    readonly lambda: Tensor,
  ) {
    [this.dOut, this.width] = lambda.shape;
  }

  private get be(): Backend {
    return this.lambda.backend;
  }

  multiply(v: Tensor): Tensor {
    checkVector(v, this.dOut, this.width, 'EK-FAC multiply');
    return eigenbasisMultiply(this.be, this.vectorsG, this.vectorsA, this.lambda, v);
  }

  async inverseApply(v: Tensor, options: { damping: number }): Promise<Tensor> {
    checkVector(v, this.dOut, this.width, 'EK-FAC inverseApply');
    checkDamping(options.damping, 'EK-FAC inverseApply');
    return eigenbasisInverseApply(this.be, this.vectorsG, this.vectorsA, this.lambda, v, options.damping);
  }

  async logDet(options: { scale?: number; damping: number }): Promise<number> {
    return logDetOfDiagonal(await this.lambda.read(), options.scale ?? 1, options.damping);
  }

  async inverseDiagonal(damping: number): Promise<Tensor> {
    checkDamping(damping, 'EK-FAC inverseDiagonal');
    return eigenbasisInverseDiagonal(this.be, this.vectorsG, this.vectorsA, this.lambda, damping);
  }

  async trace(): Promise<number> {
    const [sum] = await readAndDispose(scope(() => this.be.reduce('sum', this.lambda, null)));
    return sum;
  }

  async spectrum(): Promise<Float64Array> {
    return Float64Array.from(await this.lambda.read());
  }
}

class FittedEkfacLayer extends EigenbasisBlock implements EkfacLayer {
  constructor(
    readonly index: number,
    readonly name: string,
    eigen: KroneckerEigen,
    lambda: Tensor,
    readonly biasBlock: EkfacBlock | null,
  ) {
    super(eigen.vectorsG, eigen.vectorsA, lambda);
  }
}

interface LayerSums {
  /** Σ_b Λ_b / c_b ([dOut, width]) and the bias's ([dOut, 1]). */
  lambda: Tensor | null;
  bias: Tensor | null;
}

/**
 * Λ of every layer of `curvature` over `data` (normally the data it was fitted on), using (and
 * computing if needed) its eigendecompositions. The result borrows the eigenbases: dispose it
 * before the curvature. Asynchronous; progress per batch, cancel between batches.
 */
export async function fitEkfac(
  curvature: KroneckerCurvature,
  model: Module,
  data: CurvatureData,
  options: EkfacOptions = {},
): Promise<EkfacCurvature> {
  const started = performance.now();
  const fisher = options.fisher ?? curvature.options.fisher;
  const mcSamples = options.mcSamples ?? curvature.options.mcSamples;
  const seed = options.seed ?? curvature.options.seed;
  const folded = curvature.options.bias === 'folded';
  const eigens = await Promise.all(curvature.layers.map((l) => l.eigen()));
  const byName = new Map(curvature.layers.map((l, k) => [l.name, k]));
  const parameters = new Set(model.parameters().map((p) => p.variable));
  const scales = new LossScaleTracker();
  const sums: LayerSums[] = curvature.layers.map(() => ({ lambda: null, bias: null }));
  const disposeSums = () => sums.forEach((s) => [s.lambda, s.bias].forEach((t) => t?.dispose()));
  try {
    await forEachBatch(data, options, 'fitEkfac', async (batch, i) => {
      const { perBatch, shape } = scope(() => {
        const captures: KfacForwardCapture[] = [];
        const outputs = withCurvatureCapture({ capture: (c) => void captures.push(c) }, batch.forward);
        const be = outputs.backend;
        const perBatch: LayerSums[] = curvature.layers.map(() => ({ lambda: null, bias: null }));
        const projected: Tensor[] = [];
        for (const c of captures) {
          const k = byName.get(c.layer.name);
          if (k === undefined) continue;
          if (!parameters.has(c.layer.weight.variable)) throw new Error(`fitEkfac: layer "${c.layer.name}" is not part of the model`);
          const layer = curvature.layers[k];
          const withBias = folded && c.layer.bias !== null;
          const projectedA = keep(scope(() => be.matmul(foldedInput(be, c, withBias), eigens[k].vectorsA)));
          projected.push(projectedA);
          if (projectedA.shape[1] !== layer.width)
            throw new Error(`fitEkfac: layer "${c.layer.name}" has width ${projectedA.shape[1]}, its factors ${layer.width}`);
          c.output.onGrad((b) => {
            const next = scope(() => {
              const projectedB = be.matmul(b, eigens[k].vectorsG);
              const gamma = perExampleOuter(be, projectedB, projectedA, c.layout);
              const lambda = be.reduce('sum', be.binary('mul', gamma, gamma), 0);
              const s = perBatch[k];
              const out = { lambda: s.lambda ? be.binary('add', s.lambda, lambda) : lambda, bias: s.bias };
              if (layer.biasBlock) {
                const gammaBias = perExampleSum(be, projectedB, c.layout);
                const bias = be.reshape(be.reduce('sum', be.binary('mul', gammaBias, gammaBias), 0), [layer.dOut, 1]);
                out.bias = s.bias ? be.binary('add', s.bias, bias) : bias;
              }
              return { lambda: keep(out.lambda), bias: out.bias ? keep(out.bias) : null };
            });
            if (perBatch[k].lambda !== next.lambda) perBatch[k].lambda?.dispose();
            if (perBatch[k].bias !== next.bias) perBatch[k].bias?.dispose();
            perBatch[k] = next;
          });
        }
        const seeds = noGrad(() => backPropagatedSeeds(be, outputs.value, batch.loss, fisher, mcSamples, seed + i));
        try {
          runSeedPasses(outputs, seeds, outputs.rank >= 3);
        } finally {
          projected.forEach((t) => t.dispose());
        }
        return { perBatch, shape: [...outputs.shape] };
      });
      try {
        const inverseScale = scales.add(batch.loss, await batchTerms(batch.loss, shape));
        perBatch.forEach((p, k) => {
          sums[k] = {
            lambda: addScaled(sums[k].lambda, p.lambda, inverseScale),
            bias: addScaled(sums[k].bias, p.bias, inverseScale),
          };
        });
      } finally {
        perBatch.forEach((p) => [p.lambda, p.bias].forEach((t) => t?.dispose()));
      }
    });
  } catch (e) {
    disposeSums();
    throw e;
  }
  const c = scales.scale;
  const layers = curvature.layers.map((layer, k) => {
    const be = layer.G.backend;
    const { lambda, bias } = scope(() => ({
      lambda: keep(sums[k].lambda ? be.binaryScalar('mul', sums[k].lambda!, c) : be.zeros([layer.dOut, layer.width], layer.G.dtype)),
      bias: layer.biasBlock
        ? keep(sums[k].bias ? be.binaryScalar('mul', sums[k].bias!, c) : be.zeros([layer.dOut, 1], layer.G.dtype))
        : null,
    }));
    const unit = bias ? keep(scope(() => be.fill([1, 1], 1, layer.G.dtype))) : null;
    const biasBlock = bias && unit ? new EigenbasisBlock(eigens[k].vectorsG, unit, bias) : null;
    return { layer: new FittedEkfacLayer(k, layer.name, eigens[k], lambda, biasBlock), owned: [lambda, bias, unit] };
  });
  disposeSums();
  return {
    layers: layers.map((l) => l.layer),
    fitMs: performance.now() - started,
    dispose: () => layers.forEach(({ owned }) => owned.forEach((t) => t?.dispose())),
  };
}

/** sum + scale · x (x may be null: nothing to add), as a kept tensor; disposes the old sum. */
function addScaled(sum: Tensor | null, x: Tensor | null, scale: number): Tensor | null {
  if (!x) return sum;
  const be = x.backend;
  const next = keep(scope(() => (sum ? be.binary('add', sum, be.binaryScalar('mul', x, scale)) : be.binaryScalar('mul', x, scale))));
  sum?.dispose();
  return next;
}
