// Time per optimizer step on the tiny ViT (the reduce setting), all optimizers from the same
// initial weights on the same batches. A step counts from its start until its loss is back on the
// host. K-FAC's cost varies within a T_inv cycle, so each optimizer is timed over whole blocks of
// T_inv steps, the blocks alternating between optimizers so that they see the same machine load;
// the figure is the median over the blocks (robust to a shared machine's bursts). K-FAC runs as in the
// race (bench/reproduce.ts): T_inv = 10, T_cov = 1 (factors every step), KL clip off; plus K-FAC-reduce
// with the clip on (ν read back every step for the lab's history) and with T_cov = 5.
import type { Backend } from '../src/engine/backend/backend.ts';
import { constant } from '../src/engine/autograd/variable.ts';
import { gatherRows } from '../src/engine/data/common.ts';
import { loadMnist } from '../src/engine/data/mnist.ts';
import { BatchSampler } from '../src/engine/data/sampler.ts';
import { lossSpec } from '../src/engine/nn/losses.ts';
import { Vit } from '../src/engine/nn/models/vit.ts';
import { createOptimizer } from '../src/engine/optim/factory.ts';
import type { Optimizer } from '../src/engine/optim/optimizer.ts';
import type { Tensor } from '../src/engine/tensor.ts';

export interface StepTimeRow {
  optimizer: string;
  msPerStep: number;
  relativeToAdam: number;
}

const BATCH = 32;
const T_INV = 10;
const BLOCKS = 5;

type StepFn = (images: Tensor, labels: Tensor, step: number) => Promise<number>;

/** Mean ms per phase of one step (a device sync after each phase), from a separate timed block. */
export type PhaseRow = { optimizer: string; phaseMs: Record<string, number> };

export async function stepTimes(backend: Backend): Promise<{ rows: StepTimeRow[]; phases: PhaseRow[] }> {
  const data = await loadMnist({ size: 28, normalize: true });
  const sampler = new BatchSampler({ size: data.train.count, batchSize: BATCH, seed: 0, dropLast: true });
  const makeModel = () =>
    new Vit({ backend, seed: 0 }, { inChannels: 1, height: 28, width: 28, patch: 7, dim: 32, depth: 2, heads: 4, classes: 10 });

  const optimizers = new Map<string, Optimizer>();
  const phaseSums = new Map<string, Record<string, number>>();
  /** Every optimizer through the one trainStep contract (optim/optimizer.ts), as the lab steps them. */
  const stepper = (name: string, optimizer: Optimizer): StepFn => {
    const model = makeModel();
    const params = model.parameters();
    optimizers.set(name, optimizer);
    return async (images, labels, step) => {
      const { loss, phaseMs } = await optimizer.trainStep({
        params,
        forward: () => model.forward(constant(images)),
        loss: { spec: lossSpec('ce', 'mean'), targets: labels },
        step,
      });
      if (phaseMs) {
        const sums = phaseSums.get(name) ?? {};
        for (const [phase, ms] of Object.entries(phaseMs)) sums[phase] = (sums[phase] ?? 0) + ms;
        phaseSums.set(name, sums);
      }
      const value = (await loss.read())[0];
      loss.dispose();
      return value;
    };
  };
  const firstOrder = (id: 'sgd' | 'adam', lr: number): StepFn => stepper(id, createOptimizer(id, { lr }));
  const kfac = (name: string, approx: 'expand' | 'reduce', { tCov = 1, klClip = 0 } = {}): StepFn =>
    stepper(name, createOptimizer(`kfac-${approx}`, { lr: 0.1, damping: 1e-3, tInv: T_INV, tCov, klClip }, { seed: 0 }));
  const runs: [string, StepFn][] = [
    ['sgd', firstOrder('sgd', 0.1)],
    ['adam', firstOrder('adam', 1e-3)],
    ['kfac-expand', kfac('kfac-expand', 'expand')],
    ['kfac-reduce', kfac('kfac-reduce', 'reduce')],
    // The KL clip on (κ = 1e-3): ν is read back every step, as the lab records it.
    ['kfac-reduce (clip on)', kfac('kfac-reduce (clip on)', 'reduce', { klClip: 1e-3 })],
    // Factors every 5th step: the extra MC backward pass is then paid once per 5 steps.
    ['kfac-reduce (T_cov 5)', kfac('kfac-reduce (T_cov 5)', 'reduce', { tCov: 5 })],
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

  for (const [name, fn] of runs) await block(name, fn); // warm-up: pipelines, pools, the warm start's inverses
  const blocks = new Map(runs.map(([name]) => [name, [] as number[]]));
  for (let b = 0; b < BLOCKS; b++) for (const [name, fn] of runs) blocks.get(name)!.push(await block(name, fn));
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
  const adam = median(blocks.get('adam')!);
  const rows = runs.map(([name]) => {
    const ms = median(blocks.get(name)!);
    return { optimizer: name, msPerStep: Math.round(ms * 10) / 10, relativeToAdam: Math.round((ms / adam) * 100) / 100 };
  });
  // Where the time goes: one more block of Adam and K-FAC-reduce with phase timing on (syncs per phase, so
  // these are not the step times above).
  const phases: PhaseRow[] = [];
  for (const name of ['adam', 'kfac-reduce']) {
    const optimizer = optimizers.get(name)!;
    optimizer.timing = true;
    phaseSums.delete(name);
    await block(name, runs.find(([n]) => n === name)![1]);
    optimizer.timing = false;
    const sums = phaseSums.get(name) ?? {};
    phases.push({
      optimizer: name,
      phaseMs: Object.fromEntries(Object.entries(sums).map(([p, ms]) => [p, Math.round((ms / T_INV) * 100) / 100])),
    });
  }
  return { rows, phases };
}
