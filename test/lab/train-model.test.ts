// trainModel, the one-model loop the curvature tools share: the same steps as the race's Experiment,
// training on a subset touches only that subset, the after-step hook sees updated weights, and
// bad input, a diverging loss and a cancel each give a clear error.
import { afterAll, describe, expect, it } from 'vitest';
import { CpuBackend } from '../../src/engine/backend/cpu/cpu-backend.ts';
import { runExperiment } from '../../src/engine/lab/experiment.ts';
import { loadTask } from '../../src/engine/lab/tasks.ts';
import { trainModel, TrainingDivergedError } from '../../src/engine/lab/train-model.ts';
import type { TrainBatch } from '../../src/engine/lab/tasks/definition.ts';
import { mulScalar } from '../../src/engine/autograd/ops.ts';

const cpu = new CpuBackend();
afterAll(() => cpu.destroy());

describe('trainModel', () => {
  it('takes exactly the steps of a one-run Experiment with the same seed, optimizer and batches', async () => {
    const optimizers = [
      { id: 'adam' as const, hyper: { lr: 0.01 } },
      { id: 'kfac-expand' as const, hyper: { lr: 0.1, damping: 0.01 } },
    ];
    for (const entry of optimizers) {
      const result = await runExperiment(cpu, {
        task: 'mlp-spirals',
        batchSize: 32,
        steps: 6,
        seed: 3,
        evalInterval: 6,
        target: null,
        optimizers: [entry],
      });
      const placed = (await loadTask('mlp-spirals')).place(cpu);
      const model = placed.buildModel(3);
      try {
        const { losses } = await trainModel({
          model,
          batch: (rows) => placed.batch(model, rows),
          examples: 512,
          batchSize: 32,
          steps: 6,
          seed: 3,
          optimizer: entry.id,
          hyper: entry.hyper,
        });
        expect(losses).toEqual(result.runs[0].history.trainLoss);
      } finally {
        model.dispose();
        placed.dispose();
      }
    }
  });

  it('trains only on the examples it is given, and the after-step hook sees every step once, after the update', async () => {
    const placed = (await loadTask('mlp-spirals')).place(cpu);
    const model = placed.buildModel(1);
    const subset = Int32Array.from([500, 7, 300, 12, 45, 99, 250, 401, 3, 60]);
    const seen = new Set<number>();
    const hookSteps: number[] = [];
    const weight = model.parameters()[0].variable;
    let before = Array.from(await weight.value.read());
    try {
      await trainModel({
        model,
        batch: (rows) => {
          for (const r of rows) seen.add(r);
          return placed.batch(model, rows);
        },
        examples: subset,
        batchSize: 4,
        steps: 7,
        seed: 2,
        optimizer: 'sgd',
        hyper: { lr: 0.5 },
        onStep: async (step, loss) => {
          expect(Number.isFinite(loss)).toBe(true);
          hookSteps.push(step);
          const now = Array.from(await weight.value.read());
          expect(now).not.toEqual(before);
          before = now;
        },
      });
    } finally {
      model.dispose();
      placed.dispose();
    }
    expect(hookSteps).toEqual([0, 1, 2, 3, 4, 5, 6]);
    for (const r of seen) expect(subset).toContain(r);
    // 7 batches of 4 from 10 examples (2 full batches per epoch) visit all ten positions' first 8 in each epoch.
    expect(seen.size).toBeGreaterThanOrEqual(8);
  });

  it('stops with TrainingDivergedError at the first non-finite loss and frees every batch', async () => {
    const placed = (await loadTask('mlp-spirals')).place(cpu);
    const model = placed.buildModel(1);
    let made = 0;
    let disposed = 0;
    try {
      const run = trainModel({
        model,
        batch: (rows): TrainBatch => {
          made++;
          const real = placed.batch(model, rows);
          // From the third batch on, the logits are scaled by NaN, so the loss is NaN.
          const poisoned = made >= 3;
          return {
            forward: () => {
              const out = real.forward();
              return poisoned ? mulScalar(out, Number.NaN) : out;
            },
            loss: real.loss,
            dispose: () => {
              disposed++;
              real.dispose();
            },
          };
        },
        examples: 64,
        batchSize: 8,
        steps: 10,
        seed: 1,
        optimizer: 'sgd',
      });
      await expect(run).rejects.toThrow(TrainingDivergedError);
      await expect(run).rejects.toThrow('the loss of step 3 is NaN');
    } finally {
      model.dispose();
      placed.dispose();
    }
    expect(made).toBe(3);
    expect(disposed).toBe(3);
  });

  it('rejects bad input and honours a cancel', async () => {
    const placed = (await loadTask('mlp-spirals')).place(cpu);
    const model = placed.buildModel(1);
    const common = { model, batch: (rows: Int32Array) => placed.batch(model, rows), batchSize: 8, seed: 1, optimizer: 'sgd' as const };
    try {
      await expect(trainModel({ ...common, examples: 16, steps: -1 })).rejects.toThrow('steps must be a whole number ≥ 0, got -1');
      await expect(trainModel({ ...common, examples: new Int32Array(0), steps: 1 })).rejects.toThrow('no training examples');
      await expect(trainModel({ ...common, examples: 16, steps: 1, hyper: { lr: -1 } })).rejects.toThrow(/lr/);
      const controller = new AbortController();
      const run = trainModel({
        ...common,
        examples: 64,
        steps: 50,
        signal: controller.signal,
        onStep: (step) => {
          if (step === 1) controller.abort();
        },
      });
      await expect(run).rejects.toThrow(/cancelled/);
    } finally {
      model.dispose();
      placed.dispose();
    }
  });
});
