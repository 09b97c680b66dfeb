// Time per optimizer step on the tiny ViT (the reduce setting), all optimizers from the same
// initial weights on the same batches. A step counts from its start until its loss is back on the
// host. K-FAC's cost varies within a T_inv cycle, so each optimizer is timed over whole blocks of
// T_inv steps, the blocks alternating between optimizers so that they see the same machine load.
// K-FAC runs with T_inv = 10 and T_cov = 1 (factors every step), plus K-FAC-reduce with T_cov = 5.
import type { Backend } from '../src/engine/backend/backend.ts';
import { constant } from '../src/engine/autograd/variable.ts';
import { KfacOptimizer } from '../src/engine/optim/kfac/kfac-optimizer.ts';
import { gatherRows } from '../src/engine/data/common.ts';
import { loadMnist } from '../src/engine/data/mnist.ts';
import { BatchSampler } from '../src/engine/data/sampler.ts';
import { lossSpec, softmaxCrossEntropy } from '../src/engine/nn/losses.ts';
import { Vit } from '../src/engine/nn/models/vit.ts';
import { createOptimizer } from '../src/engine/optim/factory.ts';
import { trainStep } from '../src/engine/optim/train-step.ts';
import type { Tensor } from '../src/engine/tensor.ts';

export interface StepTimeRow {
  optimizer: string;
  msPerStep: number;
  relativeToAdam: number;
}

const BATCH = 32;
const T_INV = 10;
const BLOCKS = 3;

type StepFn = (images: Tensor, labels: Tensor, step: number) => Promise<number>;

export async function stepTimes(backend: Backend): Promise<StepTimeRow[]> {
  const data = await loadMnist({ size: 28, normalize: true });
  const sampler = new BatchSampler({ size: data.train.count, batchSize: BATCH, seed: 0, dropLast: true });
  const makeModel = () =>
    new Vit({ backend, seed: 0 }, { inChannels: 1, height: 28, width: 28, patch: 7, dim: 32, depth: 2, heads: 4, classes: 10 });

  const firstOrder = (id: 'sgd' | 'adam', lr: number): StepFn => {
    const model = makeModel();
    const params = model.parameters();
    const optimizer = createOptimizer(id, { lr });
    return async (images, labels, step) => {
      const loss = trainStep({ params, optimizer, step, loss: () => softmaxCrossEntropy(model.forward(constant(images)), labels) });
      const value = (await loss.read())[0];
      loss.dispose();
      return value;
    };
  };
  const kfac = (approx: 'expand' | 'reduce', tCov = 1): StepFn => {
    const model = makeModel();
    const params = model.parameters();
    const optimizer = new KfacOptimizer({ lr: 0.1, damping: 1e-3, tInv: T_INV, tCov }, { approx });
    return async (images, labels, step) => {
      const { loss } = await optimizer.trainStep({
        params,
        forward: () => model.forward(constant(images)),
        loss: { spec: lossSpec('ce', 'mean'), targets: labels },
        step,
      });
      const value = (await loss.read())[0];
      loss.dispose();
      return value;
    };
  };
  const runs: [string, StepFn][] = [
    ['sgd', firstOrder('sgd', 0.1)],
    ['adam', firstOrder('adam', 1e-3)],
    ['kfac-expand', kfac('expand')],
    ['kfac-reduce', kfac('reduce')],
    // Factors every 5th step: the extra MC backward pass is then paid once per 5 steps.
    ['kfac-reduce (T_cov 5)', kfac('reduce', 5)],
  ];

  const next = new Map(runs.map(([name]) => [name, 0]));
  const block = async (name: string, fn: StepFn): Promise<number> => {
    const t0 = performance.now();
    for (let i = 0; i < T_INV; i++) {
      const step = next.get(name)!;
      const { indices } = sampler.batchAtStep(step);
      const images = backend.tensor(gatherRows(data.train.images, 28 * 28, indices), [BATCH, 1, 28, 28]);
      const labels = backend.tensor(gatherRows(data.train.labels, 1, indices), [BATCH], 'int32');
      const loss = await fn(images, labels, step);
      if (!Number.isFinite(loss)) throw new Error(`${name}: non-finite loss at step ${step}`);
      images.dispose();
      labels.dispose();
      next.set(name, step + 1);
    }
    return (performance.now() - t0) / T_INV;
  };

  for (const [name, fn] of runs) await block(name, fn); // warm-up: pipelines, pools, the first inversion
  const totals = new Map(runs.map(([name]) => [name, 0]));
  for (let b = 0; b < BLOCKS; b++) for (const [name, fn] of runs) totals.set(name, totals.get(name)! + (await block(name, fn)));
  const adam = totals.get('adam')! / BLOCKS;
  return runs.map(([name]) => {
    const ms = totals.get(name)! / BLOCKS;
    return { optimizer: name, msPerStep: Math.round(ms * 10) / 10, relativeToAdam: Math.round((ms / adam) * 100) / 100 };
  });
}
