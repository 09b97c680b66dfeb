// The `eigen` tool (docs/curvature-tools.md §1): per K-FAC layer of a case, the factors A and G,
// their eigendecompositions (the Kronecker eigenbasis Q_G ⊗ Q_A of K-FAC) and the EK-FAC
// eigenvalues Λ, the best diagonal of the layer's curvature block in that basis.
import type { Backend } from '../../backend/backend.ts';
import { batchList, fitCurvature, fitEkfac, type EkfacCurvature, type KroneckerCurvature } from '../../curvature/toolkit.ts';
import { buildCaseModel, caseKfacOptions, parseFactorsCase, toRows, type FactorsCase } from '../case.ts';
import { defineTool, type ToolOutput } from '../tool.ts';

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

/** The `eigen` output of a parsed case on `backend`: the curvature toolkit's fit, eigenbases and EK-FAC. */
export async function computeEigen(c: FactorsCase, backend: Backend): Promise<EigenOutput> {
  const m = buildCaseModel(c, backend);
  const data = batchList([{ forward: m.forward, loss: m.loss }]);
  let curvature: KroneckerCurvature | null = null;
  let ekfac: EkfacCurvature | null = null;
  try {
    curvature = await fitCurvature(m.model, data, caseKfacOptions(c));
    ekfac = await fitEkfac(curvature, m.model, data);
    const out: EigenLayer[] = [];
    for (const [k, layer] of curvature.layers.entries()) {
      const { A, G } = await layer.eigenHost();
      const lambda = ekfac.layers[k];
      const entry: EigenLayer = {
        index: m.model.linears[layer.index].index,
        A: toRows(await layer.A.read(), A.n),
        G: toRows(await layer.G.read(), G.n),
        eigA: { values: Array.from(A.values), vectors: toRows(A.vectors, A.n) },
        eigG: { values: Array.from(G.values), vectors: toRows(G.vectors, G.n) },
        ekfac: toRows(await lambda.spectrum(), G.n, A.n),
      };
      if (lambda.biasBlock) entry.ekfacBias = Array.from(await lambda.biasBlock.spectrum());
      out.push(entry);
    }
    return { layers: out };
  } finally {
    ekfac?.dispose();
    curvature?.dispose();
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
