// GCN convolution H' = Â H W (Kipf & Welling) with Â = D^{-1/2}(A + I)D^{-1/2} given as a sparse
// COO list. The aggregation ÂH is a gather + weighted scatter-add; the linear part is a Linear over
// nodes, so K-FAC sees rows = nodes (docs/kfac.md §1: a = (ÂH)_v).
import * as ops from '../autograd/ops.ts';
import type { Variable } from '../autograd/variable.ts';
import type { Backend } from '../backend/backend.ts';
import type { SparseAdjacency } from '../data/graph.ts';
import type { Tensor } from '../tensor.ts';
import type { SharingLayout } from './curvature-hook.ts';
import { Linear } from './linear.ts';
import type { LayerContext } from './module.ts';

/** Â on the device: (ÂH)_v = Σ_e weights[e] · H[cols[e]] over the edges e with rows[e] = v. */
export interface AdjacencyTensors {
  rows: Tensor; // int32 [E]
  cols: Tensor; // int32 [E]
  weights: Tensor; // float [E, 1]
  numNodes: number;
}

/** Upload a host adjacency (src/engine/data/graph.ts) for message passing. */
export function adjacencyToDevice(
  backend: Backend,
  adjacency: SparseAdjacency,
  precision: 'float32' | 'float64' = 'float32',
): AdjacencyTensors {
  const e = adjacency.rows.length;
  return {
    rows: backend.tensor(adjacency.rows, [e], 'int32'),
    cols: backend.tensor(adjacency.cols, [e], 'int32'),
    weights: backend.tensor(adjacency.weights, [e, 1], precision),
    numNodes: adjacency.numNodes,
  };
}

export class GCNConv extends Linear {
  constructor(ctx: LayerContext, name: string, dIn: number, dOut: number) {
    super(ctx, name, dIn, dOut, { init: 'xavier-uniform', sharedDims: ['nodes'] });
  }

  /** Aggregate then transform: h [nodes, dIn] → [nodes, dOut]. */
  propagate(h: Variable, adjacency: AdjacencyTensors, layout: SharingLayout): Variable {
    const messages = ops.mulConstant(ops.gather(h, adjacency.cols), adjacency.weights);
    const aggregated = ops.scatterAdd(messages, adjacency.rows, adjacency.numNodes);
    return this.forwardRows(aggregated, layout);
  }
}
