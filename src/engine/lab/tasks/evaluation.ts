// What the task files share: evaluation in evaluation mode, accuracy summed over validation chunks
// on the device and read once, and the generic task whose examples are rows of two host arrays.
import type { Backend } from '../../backend/backend.ts';
import { noGrad, type Variable } from '../../autograd/variable.ts';
import { keep, readAndDispose, scope, type Tensor } from '../../tensor.ts';
import type { Module } from '../../nn/module.ts';
import { lossSpec } from '../../nn/losses.ts';
import { accuracyFromCounts, top1Counts } from '../../nn/metrics.ts';
import { gatherRows } from '../../data/common.ts';
import { sequentialBatches } from '../../data/sampler.ts';
import type { LoadedTask, PlacedTask, TaskDefinition } from './definition.ts';

/** The data sets are fixed whatever the experiment seed (which seeds the models and batch orders). */
export const DATA_SEED = 1;
const EVAL_CHUNK = 256;
/** Every task trains with the mean cross-entropy. */
export const CROSS_ENTROPY = lossSpec('ce', 'mean');

/** Top-1 accuracy from a [correct, counted] tensor computed in `fn` (no gradients), read once. */
export async function accuracyOf(fn: () => Tensor): Promise<number> {
  const counts = scope(() => keep(noGrad(fn)));
  return accuracyFromCounts(await readAndDispose(counts)).accuracy;
}

/** Sum the [correct, counted] tensors of every chunk on the device and read them once. */
export async function chunkedAccuracy(count: number, countsOf: (rows: Int32Array) => Tensor): Promise<number> {
  const total = scope(() => {
    let sum: Tensor | null = null;
    for (const rows of sequentialBatches(count, EVAL_CHUNK)) {
      const counts = noGrad(() => countsOf(rows));
      sum = sum ? sum.backend.binary('add', sum, counts) : counts;
    }
    return keep(sum as Tensor);
  });
  return accuracyFromCounts(await readAndDispose(total)).accuracy;
}

/** Evaluate in evaluation mode, restoring training mode afterwards. */
export async function inEvalMode<T>(model: Module, fn: () => Promise<T>): Promise<T> {
  const wasTraining = model.isTraining;
  model.eval();
  try {
    return await fn();
  } finally {
    model.train(wasTraining);
  }
}

/** Tasks whose examples are rows of an input array and an int32 label array (one or more labels per row). */
export function rowTask<M extends Module>(
  definition: TaskDefinition,
  data: {
    trainInputs: Float32Array | Int32Array;
    trainLabels: Int32Array;
    valInputs: Float32Array | Int32Array;
    valLabels: Int32Array;
    /** Shape of one example's input and of its labels. */
    inputShape: readonly number[];
    labelShape: readonly number[];
    buildModel(backend: Backend, seed: number): M;
    /** Model output from a batch of inputs (a float32 tensor or an int32 token tensor). */
    forward(model: M, inputs: Tensor): Variable;
  },
): LoadedTask {
  const inputLength = data.inputShape.reduce((a, b) => a * b, 1);
  const labelLength = data.labelShape.reduce((a, b) => a * b, 1);
  const inputDtype = data.trainInputs instanceof Int32Array ? 'int32' : 'float32';
  const trainSize = data.trainLabels.length / labelLength;
  const valSize = data.valLabels.length / labelLength;
  return {
    definition,
    trainSize,
    valSize,
    fullBatch: definition.fullBatch,
    place(backend): PlacedTask<M> {
      const upload = (inputs: Float32Array | Int32Array, labels: Int32Array, rows: Int32Array) => ({
        x: backend.tensor(gatherRows(inputs, inputLength, rows), [rows.length, ...data.inputShape], inputDtype),
        y: backend.tensor(gatherRows(labels, labelLength, rows), [rows.length, ...data.labelShape], 'int32'),
      });
      /** The rows' cross-entropy batch (the training and the validation batch alike). */
      const lossBatch = (model: M, inputs: Float32Array | Int32Array, labels: Int32Array, rows: Int32Array) => {
        const { x, y } = upload(inputs, labels, rows);
        return {
          forward: () => data.forward(model, x),
          loss: { spec: CROSS_ENTROPY, targets: y },
          dispose() {
            x.dispose();
            y.dispose();
          },
        };
      };
      return {
        backend,
        buildModel: (seed) => data.buildModel(backend, seed),
        batch: (model, indices) => lossBatch(model, data.trainInputs, data.trainLabels, indices),
        validationBatch: (model, indices) => lossBatch(model, data.valInputs, data.valLabels, indices),
        evaluate: (model) =>
          inEvalMode(model, () =>
            chunkedAccuracy(valSize, (rows) => {
              const { x, y } = upload(data.valInputs, data.valLabels, rows);
              return top1Counts(data.forward(model, x), y);
            }),
          ),
        dispose() {},
      };
    },
  };
}
