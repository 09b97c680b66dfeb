// Pooling: how the weight-sharing dims are reduced before a per-example loss (the reduce setting).
import * as ops from '../autograd/ops.ts';
import type { Variable } from '../autograd/variable.ts';
import type { Tensor } from '../tensor.ts';

/** Mean over tokens / patches / positions: [N, R, d] → [N, d]. */
export function meanPool(x: Variable): Variable {
  return ops.mean(x, 1);
}

/** The class token (position 0): [N, R, d] → [N, d]. */
export function classToken(x: Variable): Variable {
  const [n, , d] = x.shape;
  return ops.reshape(ops.slice(x, [0, 0, 0], [n, 1, d]), [n, d]);
}

/** Global average pooling of feature maps: [N, C, H, W] → [N, C]. */
export function globalAvgPool(x: Variable): Variable {
  const [n, c, h, w] = x.shape;
  return ops.mean(ops.reshape(x, [n, c, h * w]), 2);
}

/** 2×2 max pooling with stride 2 (odd trailing rows/columns are dropped): [N, C, H, W] → [N, C, H/2, W/2]. */
export function maxPool2x2(x: Variable): Variable {
  const [n, c, h, w] = x.shape;
  const h2 = Math.floor(h / 2);
  const w2 = Math.floor(w / 2);
  const even = h % 2 || w % 2 ? ops.slice(x, [0, 0, 0, 0], [n, c, 2 * h2, 2 * w2]) : x;
  const blocks = ops.permute(ops.reshape(even, [n, c, h2, 2, w2, 2]), [0, 1, 2, 4, 3, 5]);
  return ops.max(ops.reshape(blocks, [n, c, h2, w2, 4]), -1);
}

/**
 * Mean over the nodes of each graph in a packed batch: x [nodes, d], `graphIndex` int32 [nodes],
 * `inverseCounts` [graphs, 1] holding 1/(nodes of the graph) → [graphs, d].
 */
export function segmentMean(x: Variable, graphIndex: Tensor, numGraphs: number, inverseCounts: Tensor): Variable {
  return ops.mulConstant(ops.scatterAdd(x, graphIndex, numGraphs), inverseCounts);
}
