// The lab's data sets and seeded loaders (framework-free). node-source.ts is Node-only and is not
// re-exported here; import it directly from Node code.
export { DataError, IGNORE_INDEX, deriveSeed, streamRng, permutation, gatherRows, splitByClass } from './common.ts';
export { BatchSampler, sequentialBatches, type BatchSamplerOptions, type StepBatch } from './sampler.ts';
export { crc32, crc32Hex, maybeGunzip } from './binary.ts';
export { defaultDataSource, defaultDataUrl, fetchDataSource, type DataSource } from './source.ts';
export { loadMnist, readMnistRaw, mnistDataset, type LoadMnistOptions, type MnistDataset, type MnistSplit } from './mnist.ts';
export { MNIST_SIZES, MNIST_TRAIN_SIZE, MNIST_TEST_SIZE, MNIST_NUM_CLASSES, type MnistSize, type MnistManifest } from './mnist-format.ts';
export { averagePool2x2 } from './mnist-build.ts';
export {
  adjacencyLists,
  canonicalEdges,
  degrees,
  edgeHomophily,
  normalizedAdjacency,
  numEdges,
  type SparseAdjacency,
  type UndirectedGraph,
} from './graph.ts';
export { makeCsbm, maskedLabels, type CsbmGraph, type CsbmOptions, type NodeSplit } from './csbm.ts';
export {
  batchGraphs,
  containsHouse,
  makeMotifGraphs,
  nodeFeatures,
  type GraphBatch,
  type MotifGraphOptions,
  type MotifGraphSet,
  type NodeFeatureKind,
  type SmallGraph,
} from './motif-graphs.ts';
export {
  makeModular,
  modApply,
  modInverse,
  isPrime,
  MOD_OPS,
  type ModOp,
  type ModularDataset,
  type ModularOptions,
  type TokenSplit,
} from './modular.ts';
export {
  makeSpirals,
  makeCheckerboard,
  checkerboardLabel,
  type CheckerboardOptions,
  type SpiralOptions,
  type ToyDataset,
  type PointSplit,
} from './toys.ts';
