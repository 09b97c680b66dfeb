// The engine's public surface: tensors and backends, autograd, layers and models, losses and
// optimizers, data sets. Framework-free: runs in a Web Worker, in Node and in tests.
export * from './tensor.ts';
export type * from './backend/backend.ts';
export { createBackend, requestWebGPU, WebGPUUnavailableError, type CreateBackendOptions } from './backend/create-backend.ts';
export { CpuBackend } from './backend/cpu/cpu-backend.ts';
export { WebGPUBackend, DeviceLostError } from './backend/webgpu/webgpu-backend.ts';
export { ShapeError } from './shape-rules/shape.ts';
export { Rng } from './random.ts';
export { hostEigh, hostEigenvalues, type HostEigh } from './linalg/host-eigh.ts';

export { Variable, constant, parameter, noGrad } from './autograd/variable.ts';
export { grad } from './autograd/backward.ts';
export * as ops from './autograd/ops.ts';

export { Module } from './nn/module.ts';
export { Linear } from './nn/linear.ts';
export { Conv2d } from './nn/conv2d.ts';
export { LayerNorm, Embedding, Dropout } from './nn/layers.ts';
export { MultiHeadAttention } from './nn/attention.ts';
export { GCNConv, adjacencyToDevice, type AdjacencyTensors } from './nn/gcn.ts';
export {
  withCurvatureCapture,
  type CurvatureRecorder,
  type KfacForwardCapture,
  type KfacLayerInfo,
  type SharingLayout,
} from './nn/curvature-hook.ts';
export { Mlp } from './nn/models/mlp.ts';
export { Cnn } from './nn/models/cnn.ts';
export { Vit } from './nn/models/vit.ts';
export { GcnNodeClassifier, GcnGraphClassifier, type GraphBatchTensors } from './nn/models/gcn-models.ts';
export { TransformerLm } from './nn/models/transformer-lm.ts';
export { softmaxCrossEntropy, mse, lossSpec, type LossSpec, type LossTargets } from './nn/losses.ts';
export { top1Accuracy, top1Counts } from './nn/metrics.ts';

export { createOptimizer } from './optim/factory.ts';
export { KfacOptimizer } from './optim/kfac/kfac-optimizer.ts';
export {
  KfacNumericalError,
  KFAC_PHASES,
  type KfacSettings,
  type KfacOptions,
  type KfacStepArgs,
  type KfacStepResult,
  type KfacEvent,
  type KfacPhase,
  type PhaseTimes,
} from './optim/kfac/types.ts';
export { trainStep, firstOrderTrainStep, FIRST_ORDER_PHASES, type FirstOrderPhase } from './optim/train-step.ts';
export {
  computeKfacFactors,
  kfacForward,
  kfacForwardBackward,
  type KfacApprox,
  type FisherType,
  type BiasMode,
  type LossSetting,
  type KfacFactorOptions,
  type LayerFactors,
} from './curvature/factors.ts';
export { exactGgnBlock, kron, type ExactGgnBlock } from './curvature/exact-ggn.ts';
export {
  batchList,
  taskData,
  fitCurvature,
  fitEkfac,
  perExampleGradients,
  kroneckerBlock,
  exactCurvatureMatrix,
  type CurvatureBatch,
  type CurvatureData,
  type FitOptions,
  type KroneckerCurvature,
  type KroneckerLayer,
  type KroneckerBlock,
  type EkfacCurvature,
  type EkfacLayer,
  type PerExampleLayerGradients,
} from './curvature/toolkit.ts';
export type { Optimizer, GradientOptimizer, TrainStepArgs, TrainStepResult, StepPhaseTimes } from './optim/optimizer.ts';
export type { NamedParameter } from './nn/module.ts';
export type { HostTensor, OptimizerHostState } from './optim/host-state.ts';

export * from './data/index.ts';

export {
  TASKS,
  TASK_IDS,
  isTaskId,
  loadTask,
  type TaskId,
  type TaskSetting,
  type TaskDefinition,
  type LoadedTask,
  type PlacedTask,
  type TrainBatch,
  type TaskPreset,
  type KfacPreset,
  type TaskSharing,
  type TaskTeaching,
} from './lab/tasks.ts';
export { Experiment, runExperiment, type RunOptions, type HostCopyStats } from './lab/experiment.ts';
export { ExperimentController } from './lab/controller.ts';
export {
  ExperimentConfigError,
  TARGET_METRICS,
  validateConfig,
  validateConfigOrThrow,
  type ConfigValidation,
  type ExperimentConfig,
  type OptimizerEntry,
  type ResolvedConfig,
  type ResolvedOptimizer,
  type TargetMetric,
} from './lab/experiment-config.ts';
export { reachTarget, type ExperimentResult, type MetricPoint, type RunHistory, type RunResult } from './lab/results.ts';
export { HOST_COPY_INTERVAL, type RunHostCopy, type ResumePoint } from './lab/host-copy.ts';
export { presetConfig } from './lab/presets.ts';
export {
  CHECKPOINT_FORMAT,
  CHECKPOINT_VERSION,
  CheckpointError,
  captureCheckpoint,
  decodeCheckpoint,
  encodeCheckpoint,
  restoreCheckpoint,
  type Checkpoint,
  type CheckpointMeta,
  type CheckpointParam,
  type RestoreExpectation,
} from './checkpoint/checkpoint.ts';
