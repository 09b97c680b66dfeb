// The `eigen` tool (docs/curvature-tools.md §1): per K-FAC layer of a case, the factors A and G,
// their eigendecompositions (the Kronecker eigenbasis Q_G ⊗ Q_A of K-FAC) and the EK-FAC
// eigenvalues Λ, the best diagonal of the layer's curvature block in that basis.
import type { Backend } from '../../backend/backend.ts';
import { hostEigh } from '../../linalg/host-eigh.ts';
import { readAndDispose, type Tensor } from '../../tensor.ts';
import { buildCaseModel, computeCaseFactors, parseFactorsCase, toRows, type FactorsCase } from '../case.ts';
import { defineTool, type ToolOutput } from '../tool.ts';
import { ekfacEigenvalues, type KronBasis } from './ekfac-eigenvalues.ts';

/** An eigendecomposition as printed: values descending (clamped at 0), vectors[i][k] = component i of eigenvector k. */
export interface EigenPairs {
  values: number[];
  /** n×n row-major; column k is the unit eigenvector of values[k]. */
  vectors: number[][];
}

export interface EigenLayer {
  /** The linear layer's position in the case's `layers`. */
  index: number;
  /** [dIn(+1)]²; with the bias folded the constant-1 row and column are last. */
  A: number[][];
  /** [dOut]². */
  G: number[][];
  eigA: EigenPairs;
  eigG: EigenPairs;
  /** Λ [dOut][dIn(+1)]: Λ_ij = Σ_{m,k} ((Q_Gᵀ Γ_{m,k} Q_A)_ij)² (§1). */
  ekfac: number[][];
  /** With a separate bias: [dOut], Σ_{m,k} ((Q_Gᵀ γ_{m,k})_i)² of the bias gradients γ. Absent otherwise. */
  ekfacBias?: number[];
}

export interface EigenOutput extends ToolOutput {
  layers: EigenLayer[];
}

/** Symmetric eigendecomposition (float64, host) with the eigenvalues clamped at 0 (docs/curvature-tools.md notation). */
export function eigenPairs(matrix: ArrayLike<number>, n: number): { values: Float64Array; vectors: Float64Array } {
  const { values, vectors } = hostEigh(matrix, n);
  for (let i = 0; i < n; i++) values[i] = Math.max(0, values[i]);
  return { values, vectors };
}

/** The `eigen` output of a parsed case on `backend`. */
export async function computeEigen(c: FactorsCase, backend: Backend): Promise<EigenOutput> {
  const factors = await computeCaseFactors(c, backend);
  const m = buildCaseModel(c, backend);
  const uploaded: Tensor[] = [];
  try {
    const layers = factors.layers.map((l) => {
      const info = m.model.linears.find((x) => x.index === l.index)!.layer.kfacInfo;
      const [dA, dG] = [l.A.length, l.G.length];
      return { factors: l, name: info.name, dA, dG, eigA: eigenPairs(l.A.flat(), dA), eigG: eigenPairs(l.G.flat(), dG) };
    });
    const bases = new Map<string, KronBasis>();
    for (const l of layers) {
      const QA = backend.tensor(l.eigA.vectors, [l.dA, l.dA], c.precision);
      const QG = backend.tensor(l.eigG.vectors, [l.dG, l.dG], c.precision);
      uploaded.push(QA, QG);
      bases.set(l.name, { QA, QG });
    }
    const lambdas = ekfacEigenvalues(m.forward, m.loss, bases, { fisher: c.fisher, mcSamples: c.mcSamples, seed: c.seed, bias: c.bias });
    const pairs = (e: { values: Float64Array; vectors: Float64Array }, n: number): EigenPairs => ({
      values: Array.from(e.values),
      vectors: toRows(e.vectors, n),
    });
    const out: EigenLayer[] = [];
    for (const l of layers) {
      const lambda = lambdas.find((x) => x.layer.name === l.name)!;
      const layer: EigenLayer = {
        index: l.factors.index,
        A: l.factors.A,
        G: l.factors.G,
        eigA: pairs(l.eigA, l.dA),
        eigG: pairs(l.eigG, l.dG),
        ekfac: toRows(await readAndDispose(lambda.weight), l.dG, l.dA),
      };
      if (lambda.bias) layer.ekfacBias = Array.from(await readAndDispose(lambda.bias));
      out.push(layer);
    }
    return { layers: out };
  } finally {
    for (const t of uploaded) t.dispose();
    m.dispose();
  }
}

export const eigenTool = defineTool({
  name: 'eigen',
  about: 'K-FAC factors A and G, their eigenbases (eigA, eigG) and the EK-FAC eigenvalues Λ (ekfac, ekfacBias) per layer.',
  fields: {},
  parse: (json) => parseFactorsCase(json),
  compute: computeEigen,
});
