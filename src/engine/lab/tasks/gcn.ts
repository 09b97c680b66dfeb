// The two graph tasks: GCN node classification on one stochastic block model (full batch, expand
// setting) and GCN graph classification of small random graphs (mean pooling, reduce setting).
import type { Backend } from '../../backend/backend.ts';
import { constant, type Variable } from '../../autograd/variable.ts';
import type { Tensor } from '../../tensor.ts';
import { GcnGraphClassifier, GcnNodeClassifier, graphBatchToDevice, type GraphBatchTensors } from '../../nn/models/gcn-models.ts';
import { adjacencyToDevice, type AdjacencyTensors } from '../../nn/gcn.ts';
import { top1Counts } from '../../nn/metrics.ts';
import { makeCsbm, maskedLabels } from '../../data/csbm.ts';
import { batchGraphs, makeMotifGraphs, type SmallGraph } from '../../data/motif-graphs.ts';
import { defineTask, type LoadedTask, type PlacedTask } from './definition.ts';
import { accuracyOf, CROSS_ENTROPY, DATA_SEED, inEvalMode } from './evaluation.ts';

export const gcnNode = defineTask({
  id: 'gcn-node',
  title: 'GCN node classification (CSBM)',
  description: 'A 2-layer GCN labels the nodes of a 400-node, 3-class stochastic block model; every step trains on the whole graph.',
  setting: 'expand',
  model: 'GCN 8-16-3',
  parameterCount: 195,
  fullBatch: true,
  defaultBatchSize: 1,
  // npm run bench -- reproduce (grid in bench/reproduce.ts); an easy task: the target falls within 25 steps.
  preset: {
    steps: 100,
    evalInterval: 1,
    target: 0.8,
    sgd: 0.5,
    adam: 0.03,
    expand: { lr: 0.3, damping: 1e-2 },
    reduce: { lr: 0.1, damping: 1e-2 },
  },
  teaching: {
    setting:
      'Each GCN layer applies the same weights to all 400 nodes and every training node has its own loss term, so this is the expand setting: K-FAC-expand counts every node as an example, while K-FAC-reduce would average nodes that carry separate labels.',
    sharing: {
      dim: 'nodes',
      nLabel: 'N = 1 graph',
      rLabel: 'R = 400 nodes',
      where:
        'A GCN layer computes H′ = Â H W: the same W is applied to every node’s aggregated features (Â H)ᵥ. The whole 400-node graph is one example, so N = 1 and R = 400.',
      consequence:
        'Every training node has its own loss term, so the loss has N · R terms: the expand setting. Reduce fits poorly here: it averages the 400 node inputs into a single row, so each step’s input factor has rank one and the damping does much of the work.',
      drawnRows: [8],
      truncated: true,
    },
  },
  async load(): Promise<LoadedTask> {
    const g = makeCsbm({ numNodes: 400, numClasses: 3, featureDim: 8, averageDegree: 5, homophily: 0.8, featureNoise: 1, seed: DATA_SEED });
    const n = g.numNodes;
    return {
      definition: gcnNode,
      trainSize: 1,
      valSize: g.split.val.length,
      fullBatch: gcnNode.fullBatch,
      place(backend): PlacedTask<GcnNodeClassifier> {
        const x = constant(backend.tensor(g.features, [n, g.featureDim]));
        const adjacency: AdjacencyTensors = adjacencyToDevice(backend, g.adjacency);
        // Non-training nodes carry the ignore label, so the mean loss covers the training nodes only.
        const trainTargets = backend.tensor(maskedLabels(g.labels, g.split.train), [n], 'int32');
        const valTargets = backend.tensor(maskedLabels(g.labels, g.split.val), [n], 'int32');
        return {
          backend,
          buildModel: (seed) => new GcnNodeClassifier({ backend, seed }, { inFeatures: g.featureDim, hidden: 16, classes: g.numClasses }),
          batch: (model) => ({
            forward: () => model.forward(x, adjacency),
            loss: { spec: CROSS_ENTROPY, targets: trainTargets },
            dispose() {},
          }),
          evaluate: (model) => inEvalMode(model, () => accuracyOf(() => top1Counts(model.forward(x, adjacency), valTargets))),
          dispose() {
            x.value.dispose();
            disposeAdjacency(adjacency);
            trainTargets.dispose();
            valTargets.dispose();
          },
        };
      },
    };
  },
});

function disposeAdjacency(a: AdjacencyTensors): void {
  for (const t of [a.rows, a.cols, a.weights]) t.dispose();
}

function disposeGraphBatch(features: Variable, tensors: GraphBatchTensors, labels: Tensor): void {
  features.value.dispose();
  labels.dispose();
  disposeAdjacency(tensors.adjacency);
  tensors.graphIndex.dispose();
  tensors.inverseCounts.dispose();
}

export const gcnGraph = defineTask({
  id: 'gcn-graph',
  title: 'GCN graph classification (house motif)',
  description: 'A 3-layer GCN with mean pooling decides whether a small random graph contains a house motif.',
  setting: 'reduce',
  model: 'GCN 3×32 + mean pool',
  parameterCount: 2434,
  fullBatch: false,
  defaultBatchSize: 32,
  // npm run lab -- --task gcn-graph --sweep sgd.lr=0.1,0.3 --sweep adam.lr=0.003,0.01,0.03
  //   --sweep kfac-{expand,reduce}.lr=0.05,0.2 --sweep kfac-{expand,reduce}.damping=0.1,1 (KL clip off):
  // only K-FAC-reduce, the approximation for this pooled (reduce) setting, reached 0.8 in 300 steps.
  preset: {
    steps: 300,
    evalInterval: 20,
    target: 0.8,
    sgd: 0.1,
    adam: 3e-3,
    expand: { lr: 0.05, damping: 1, klClip: 0 },
    reduce: { lr: 0.05, damping: 0.1, klClip: 0 },
  },
  teaching: {
    setting:
      'Each GCN layer shares its weights over the nodes of a graph, and the nodes are mean-pooled before the one-per-graph loss, so this is the reduce setting: K-FAC-reduce averages over the nodes first (cheaper), while K-FAC-expand counts every node as an extra example.',
    sharing: {
      dim: 'nodes',
      nLabel: 'N graphs',
      rLabel: 'R = 10–30 nodes per graph',
      where:
        'A GCN layer applies the same W to every node of every graph in the batch. The graphs have 10 to 30 nodes, so R differs from graph to graph; the rows are grouped by graph.',
      consequence:
        'Node features are mean-pooled per graph before the classifier, and the loss has one term per graph: the reduce setting. Reduce averages each graph’s node inputs, whatever the graph’s size.',
      drawnRows: [4, 6, 5],
      truncated: true,
    },
  },
  async load(): Promise<LoadedTask> {
    const set = makeMotifGraphs({ seed: DATA_SEED, numGraphs: 400 });
    const upload = (backend: Backend, graphs: readonly SmallGraph[], indices?: ArrayLike<number>) => {
      const batch = batchGraphs(graphs, indices);
      return {
        x: constant(backend.tensor(batch.features, [batch.numNodes, batch.featureDim])),
        tensors: graphBatchToDevice(backend, batch),
        y: backend.tensor(batch.labels, [batch.numGraphs], 'int32'),
      };
    };
    return {
      definition: gcnGraph,
      trainSize: set.train.length,
      valSize: set.val.length,
      fullBatch: gcnGraph.fullBatch,
      place(backend): PlacedTask<GcnGraphClassifier> {
        return {
          backend,
          buildModel: (seed) =>
            new GcnGraphClassifier({ backend, seed }, { inFeatures: set.featureDim, hidden: 32, layers: 3, classes: 2 }),
          batch(model, indices) {
            const { x, tensors, y } = upload(backend, set.train, indices);
            return {
              forward: () => model.forward(x, tensors),
              loss: { spec: CROSS_ENTROPY, targets: y },
              dispose: () => disposeGraphBatch(x, tensors, y),
            };
          },
          evaluate: (model) =>
            inEvalMode(model, async () => {
              const { x, tensors, y } = upload(backend, set.val);
              try {
                return await accuracyOf(() => top1Counts(model.forward(x, tensors), y));
              } finally {
                disposeGraphBatch(x, tensors, y);
              }
            }),
          dispose() {},
        };
      },
    };
  },
});
