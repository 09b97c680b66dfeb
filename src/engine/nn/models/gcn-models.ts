// Graph convolutional networks. Node classification: one graph, a loss term per node (expand
// setting; rows = nodes of the one example). Graph classification: a packed batch of graphs, node
// features pooled per graph before the loss (reduce setting; rows grouped by graph index).
// Parameters: node model with dIn 16, hidden 32, 4 classes: 544 + 132 = 676; graph model with dIn
// 8, hidden 32, 2 layers, 2 classes: 288 + 1,056 + 66 = 1,410.
import type { Variable } from '../../autograd/variable.ts';
import * as ops from '../../autograd/ops.ts';
import type { Tensor } from '../../tensor.ts';
import type { Backend } from '../../backend/backend.ts';
import type { GraphBatch } from '../../data/motif-graphs.ts';
import { adjacencyToDevice, GCNConv, type AdjacencyTensors } from '../gcn.ts';
import { Dropout } from '../layers.ts';
import { Linear } from '../linear.ts';
import { Module, type LayerContext } from '../module.ts';
import { segmentMean } from '../pooling.ts';
import type { SharingLayout } from '../curvature-hook.ts';

export interface GcnNodeConfig {
  inFeatures: number;
  hidden: number;
  classes: number;
  dropout?: number;
}

export class GcnNodeClassifier extends Module {
  readonly conv1: GCNConv;
  readonly conv2: GCNConv;
  readonly drop: Dropout;

  constructor(
    ctx: LayerContext,
    readonly config: GcnNodeConfig,
  ) {
    super(ctx);
    this.conv1 = this.addModule('conv1', new GCNConv(ctx, 'conv1', config.inFeatures, config.hidden));
    this.conv2 = this.addModule('conv2', new GCNConv(ctx, 'conv2', config.hidden, config.classes));
    this.drop = this.addModule('drop', new Dropout(ctx, 'drop', config.dropout ?? 0));
  }

  /** features [nodes, dIn] → logits [nodes, classes]. */
  forward(features: Variable, adjacency: AdjacencyTensors): Variable {
    const layout: SharingLayout = { kind: 'dense', examples: 1, positions: adjacency.numNodes };
    const h = this.drop.forward(ops.relu(this.conv1.propagate(features, adjacency, layout)));
    return this.conv2.propagate(h, adjacency, layout);
  }
}

export interface GcnGraphConfig {
  inFeatures: number;
  hidden: number;
  layers?: number;
  classes: number;
}

/** A packed batch of graphs: the block-diagonal adjacency and each node's graph. */
export interface GraphBatchTensors {
  adjacency: AdjacencyTensors;
  graphIndex: Tensor; // int32 [nodes]
  numGraphs: number;
  /** 1 / (nodes in graph g), [graphs, 1]. */
  inverseCounts: Tensor;
}

/** Upload a packed host batch (src/engine/data/motif-graphs.ts batchGraphs) for the graph classifier. */
export function graphBatchToDevice(backend: Backend, batch: GraphBatch, precision: 'float32' | 'float64' = 'float32'): GraphBatchTensors {
  return {
    adjacency: adjacencyToDevice(backend, batch.adjacency, precision),
    graphIndex: backend.tensor(batch.graphIndex, [batch.numNodes], 'int32'),
    numGraphs: batch.numGraphs,
    inverseCounts: backend.tensor(
      Array.from(batch.nodeCounts, (c) => 1 / c),
      [batch.numGraphs, 1],
      precision,
    ),
  };
}

export class GcnGraphClassifier extends Module {
  readonly convs: GCNConv[] = [];
  readonly head: Linear;

  constructor(
    ctx: LayerContext,
    readonly config: GcnGraphConfig,
  ) {
    super(ctx);
    const depth = config.layers ?? 2;
    for (let i = 0; i < depth; i++) {
      this.convs.push(this.addModule(`conv${i}`, new GCNConv(ctx, `conv${i}`, i === 0 ? config.inFeatures : config.hidden, config.hidden)));
    }
    this.head = this.addModule('head', new Linear(ctx, 'head', config.hidden, config.classes, { init: 'xavier-uniform' }));
  }

  /** features [nodes, dIn] → logits [graphs, classes]. */
  forward(features: Variable, batch: GraphBatchTensors): Variable {
    const layout: SharingLayout = { kind: 'segments', examples: batch.numGraphs, index: batch.graphIndex };
    let h = features;
    for (const conv of this.convs) h = ops.relu(conv.propagate(h, batch.adjacency, layout));
    return this.head.forward(segmentMean(h, batch.graphIndex, batch.numGraphs, batch.inverseCounts));
  }
}
