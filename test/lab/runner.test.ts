// The experiment runner on the CPU backend: fair starts (same weights, same batches), isolation of a
// diverging run, config validation messages, steps-to-target, pause/stop, and a short run of every
// task's preset.
import { afterAll, describe, expect, it } from 'vitest';
import { CpuBackend } from '../../src/engine/backend/cpu/cpu-backend.ts';
import { BatchSampler } from '../../src/engine/data/sampler.ts';
import { KFAC_PHASES } from '../../src/engine/optim/kfac/types.ts';
import { Experiment, runExperiment } from '../../src/engine/lab/experiment.ts';
import { ExperimentConfigError, validateConfig, type ExperimentConfig } from '../../src/engine/lab/experiment-config.ts';
import { ExperimentController } from '../../src/engine/lab/controller.ts';
import { reachTarget, type MetricPoint, type RunHistory } from '../../src/engine/lab/results.ts';
import { presetConfig } from '../../src/engine/lab/presets.ts';
import { loadTask, TASK_IDS, TASKS } from '../../src/engine/lab/tasks.ts';
import { useBackends } from '../helpers/backends.ts';

const cpu = new CpuBackend();
const backends = useBackends();
afterAll(() => cpu.destroy());

const spirals = (overrides: Partial<ExperimentConfig> = {}): ExperimentConfig => ({
  task: 'mlp-spirals',
  batchSize: 32,
  steps: 5,
  seed: 7,
  evalInterval: 2,
  target: null,
  optimizers: [
    { id: 'sgd', hyper: { lr: 0.1 } },
    { id: 'adam', hyper: { lr: 0.01 } },
    { id: 'kfac-reduce', hyper: { lr: 0.1, damping: 0.01 } },
  ],
  ...overrides,
});

function errorsOf(config: unknown): string[] {
  const result = validateConfig(config);
  expect(result.ok).toBe(false);
  return result.ok ? [] : result.errors;
}

describe('fairness', () => {
  it('every run starts from the same weights and sees the same batches', async () => {
    const experiment = await Experiment.create(cpu, spirals(), { recordBatchIndices: true });
    try {
      const weights = await Promise.all(experiment.models.map((m) => m.saveWeights()));
      expect(Object.keys(weights[0]).length).toBeGreaterThan(0);
      for (const w of weights.slice(1)) expect(w).toEqual(weights[0]);

      const result = await experiment.run();
      const task = await loadTask('mlp-spirals');
      const reference = new BatchSampler({ size: task.trainSize, batchSize: 32, seed: 7, dropLast: true });
      for (const run of result.runs) {
        expect(run.error).toBeUndefined();
        expect(run.batchIndices).toHaveLength(5);
        run.batchIndices!.forEach((indices, t) => expect(indices).toEqual(reference.batchAtStep(t).indices));
      }
      // Same weights and same first batch: the same loss before any update.
      const firstLosses = result.runs.map((r) => r.history.trainLoss[0]);
      expect(new Set(firstLosses).size).toBe(1);
      // After updating, the optimizers differ.
      expect(new Set(result.runs.map((r) => r.history.trainLoss[4])).size).toBe(3);
    } finally {
      experiment.dispose();
    }
  });

  it('another seed gives other initial weights and another batch order', async () => {
    const a = await Experiment.create(cpu, spirals({ optimizers: [{ id: 'sgd' }] }), { recordBatchIndices: true });
    const b = await Experiment.create(cpu, spirals({ seed: 8, optimizers: [{ id: 'sgd' }] }), { recordBatchIndices: true });
    try {
      expect(await b.models[0].saveWeights()).not.toEqual(await a.models[0].saveWeights());
      const [ra, rb] = [await a.run(), await b.run()];
      expect(rb.runs[0].batchIndices![0]).not.toEqual(ra.runs[0].batchIndices![0]);
    } finally {
      a.dispose();
      b.dispose();
    }
  });

  it('interleaves the runs step by step and reports metrics per step', async () => {
    const batches: MetricPoint[][] = [];
    const result = await runExperiment(cpu, spirals(), { onMetrics: (points) => batches.push(points) });
    expect(batches).toHaveLength(5);
    batches.forEach((points, t) => {
      expect(points.map((p) => p.run)).toEqual([0, 1, 2]);
      for (const p of points) {
        expect(p.step).toBe(t + 1);
        expect(Number.isFinite(p.trainLoss)).toBe(true);
        expect(p.valMetric !== undefined).toBe(p.step % 2 === 0 || p.step === 5);
      }
    });
    for (const [i, run] of result.runs.entries()) {
      expect(run.history.step).toEqual([1, 2, 3, 4, 5]);
      expect(run.history.valMetric.map((v) => v !== null)).toEqual([false, true, false, true, true]);
      // Per-run clocks only grow.
      for (let s = 1; s < 5; s++) expect(run.history.timeMs[s]).toBeGreaterThan(run.history.timeMs[s - 1]);
      expect(run.history.timeMs.at(-1)).toBe(batches[4][i].elapsedMs);
    }
    expect(Object.keys(result.runs[0].phaseMs).sort()).toEqual(['backward', 'forward', 'update']);
    expect(Object.keys(result.runs[2].phaseMs).sort()).toEqual([...KFAC_PHASES].sort());
    expect(result.parameterCount).toBe(2 * 32 + 32 + 32 * 32 + 32 + 32 * 2 + 2);
    expect(result.runs.map((r) => r.label)).toEqual(['sgd', 'adam', 'kfac-reduce']);
  });
});

describe('memory', () => {
  it('an experiment releases every tensor it created, with and without phase timing', async () => {
    await runExperiment(cpu, spirals({ steps: 1 })); // warm caches (e.g. loss helpers kept per backend)
    for (const phaseTiming of [true, false]) {
      const before = cpu.memory().liveTensors;
      await runExperiment(cpu, spirals(), { phaseTiming });
      expect(cpu.memory().liveTensors, `phaseTiming ${phaseTiming}`).toBe(before);
    }
  });
});

describe('failures stay in their run', () => {
  it('a diverging run stops with a message while the others finish', async () => {
    const ended: number[] = [];
    const result = await runExperiment(
      cpu,
      {
        task: 'gcn-node',
        batchSize: 1,
        steps: 10,
        seed: 1,
        evalInterval: 5,
        optimizers: [
          { id: 'sgd', hyper: { lr: 0.1 } },
          // inverseWarmup 0: with fresh inverses every step the loss grows to 1e23 but stays finite for 10 steps.
          { id: 'kfac-reduce', label: 'too fast', hyper: { lr: 10, damping: 1e-8, klClip: 0, momentum: 0.99, inverseWarmup: 0 } },
          { id: 'adam', hyper: { lr: 0.01 } },
        ],
      },
      { onRunEnd: (run) => ended.push(run) },
    );
    const [sgd, diverged, adam] = result.runs;
    expect(diverged.error).toMatch(
      /^step \d+: (training loss is (NaN|Infinity|-Infinity) \(diverged\)|KfacNumericalError: .*); run stopped$/,
    );
    expect(diverged.stepsCompleted).toBeLessThan(10);
    expect(diverged.history.trainLoss.every(Number.isFinite)).toBe(true);
    for (const run of [sgd, adam]) {
      expect(run.error).toBeUndefined();
      expect(run.stepsCompleted).toBe(10);
      expect(run.history.trainLoss.every(Number.isFinite)).toBe(true);
      expect(run.history.valMetric.at(-1)).toBeGreaterThan(0);
    }
    expect(ended.sort()).toEqual([0, 1, 2]);
    expect(result.stopped).toBe(false);
  });
});

describe('config validation', () => {
  it('accepts a minimal config and fills in defaults and labels', () => {
    const result = validateConfig(
      spirals({ optimizers: [{ id: 'adam' }, { id: 'adam', hyper: { lr: 0.1 } }, { id: 'sgd', label: 'plain' }] }),
    );
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.config.optimizers.map((o) => o.label)).toEqual(['adam #1', 'adam #2', 'plain']);
    expect(result.config.optimizers[0].hyper).toMatchObject({ lr: 1e-3, beta1: 0.9, beta2: 0.999 });
    expect(result.config.optimizers[1].hyper.lr).toBe(0.1);
    expect(result.config.optimizers[0].schedule).toMatchObject({ kind: 'constant', totalSteps: 5 });
  });

  it('names the field of every problem', () => {
    const errors = errorsOf(
      spirals({
        steps: 2.5,
        batchSize: 0,
        optimizers: [{ id: 'sgd' }, { id: 'adam', hyper: { lr: 5, momentum: 0.9 } }, { id: 'kfac-reduce', hyper: { fisherType: 'exact' } }],
      }),
    );
    expect(errors).toContain('steps: expected an integer, got number 2.5');
    expect(errors).toContain('batchSize: 0 is out of range (allowed: 1 to 4096)');
    expect(errors.some((e) => e.startsWith('optimizers[1].hyper.lr: 5 is out of range'))).toBe(true);
    expect(errors.some((e) => e.startsWith('optimizers[1].hyper.momentum: unknown hyperparameter'))).toBe(true);
    expect(errors.some((e) => e.startsWith('optimizers[2].hyper.fisherType: expected one of type-2 | mc | empirical'))).toBe(true);
    expect(errors).toHaveLength(5);
  });

  it('lists the valid ids for an unknown task or optimizer', () => {
    const errors = errorsOf({ ...spirals(), task: 'resnet', optimizers: [{ id: 'lion' }] });
    expect(errors).toContain(`task: unknown task "resnet" (known: ${TASK_IDS.join(', ')})`);
    expect(errors).toContain('optimizers[0].id: unknown optimizer "lion" (known: sgd, adam, adamw, kfac-expand, kfac-reduce)');
  });

  it('rejects malformed structure', () => {
    expect(errorsOf(null)).toEqual(['config: expected an object, got null']);
    expect(errorsOf({ ...spirals(), optimizers: [] })[0]).toMatch(/^optimizers: expected a non-empty array/);
    expect(errorsOf({ ...spirals(), extra: 1 })).toEqual([
      'extra: unknown field (known: task, batchSize, steps, seed, evalInterval, target, optimizers)',
    ]);
    expect(errorsOf(spirals({ target: { metric: 'valAccuracy', value: 1.5 } }))).toEqual([
      'target.value: expected an accuracy between 0 and 1, got 1.5',
    ]);
    expect(errorsOf(spirals({ optimizers: [{ id: 'sgd', schedule: { kind: 'linear' } }] }))[0]).toMatch(
      /^optimizers\[0\]\.schedule\.kind: /,
    );
  });

  it('Experiment.create throws the messages, and checks the batch size against the data', async () => {
    await expect(Experiment.create(cpu, spirals({ steps: 0 }))).rejects.toThrow(ExperimentConfigError);
    await expect(Experiment.create(cpu, spirals({ steps: 0 }))).rejects.toThrow(/steps: 0 is out of range/);
    const trainSize = (await loadTask('mlp-spirals')).trainSize;
    await expect(Experiment.create(cpu, spirals({ batchSize: trainSize + 1 }))).rejects.toThrow(
      `batchSize: ${trainSize + 1} exceeds the ${trainSize} training examples of mlp-spirals`,
    );
  });
});

describe('steps to target', () => {
  const history: RunHistory = {
    step: [1, 2, 3, 4, 5, 6],
    trainLoss: [1, 0.9, 0.8, 0.7, 0.6, 0.5],
    valMetric: [null, 0.5, null, 0.79, 0.8, 0.95],
    timeMs: [10, 20, 30, 40, 50, 60],
  };

  it('is the first evaluated step at or above the target', () => {
    expect(reachTarget(history, 0.8)).toEqual({ steps: 5, timeMs: 50 });
    expect(reachTarget(history, 0.5)).toEqual({ steps: 2, timeMs: 20 });
    expect(reachTarget(history, 0.9)).toEqual({ steps: 6, timeMs: 60 });
    expect(reachTarget(history, 0.96)).toBeNull();
  });

  it('the runner records it per run, matching its history', async () => {
    const reached = await runExperiment(cpu, spirals({ target: { metric: 'valAccuracy', value: 0 } }));
    for (const run of reached.runs) {
      expect(run.stepsToTarget).toBe(2); // the first evaluation
      expect(run.timeToTargetMs).toBe(run.history.timeMs[1]);
      expect(reachTarget(run.history, 0)).toEqual({ steps: run.stepsToTarget, timeMs: run.timeToTargetMs });
    }
    const missed = await runExperiment(cpu, spirals({ target: { metric: 'valAccuracy', value: 1 } }));
    for (const run of missed.runs) {
      expect(run.stepsToTarget).toBeNull();
      expect(run.timeToTargetMs).toBeNull();
    }
  });

  it('stopAtTarget ends a run at its target while the others go on', async () => {
    // Target 0 is reached at the first evaluation (step 2) by every run; target 1 never.
    const result = await runExperiment(cpu, spirals({ steps: 6, target: { metric: 'valAccuracy', value: 0 } }), { stopAtTarget: true });
    for (const run of result.runs) {
      expect(run.stepsCompleted).toBe(2);
      expect(run.stepsToTarget).toBe(2);
    }
    const missed = await runExperiment(cpu, spirals({ steps: 6, target: { metric: 'valAccuracy', value: 1 } }), { stopAtTarget: true });
    for (const run of missed.runs) expect(run.stepsCompleted).toBe(6);
  });

  // One fast run and one that barely moves; the target is the fast run's best validation accuracy.
  const pair = (overrides: Partial<ExperimentConfig>) =>
    spirals({
      steps: 12,
      optimizers: [
        { id: 'adam', hyper: { lr: 0.05 } },
        { id: 'sgd', hyper: { lr: 1e-6, momentum: 0 } },
      ],
      ...overrides,
    });

  it('denseEval: every step once near the target resolves its step exactly; coarse evaluations elsewhere', async () => {
    const every = await runExperiment(cpu, pair({ evalInterval: 1 }));
    const val = every.runs[0].history.valMetric as number[];
    const target = Math.max(...val);
    const k = val.indexOf(target) + 1; // first step at the best accuracy
    const dense = await runExperiment(cpu, pair({ evalInterval: 4, target: { metric: 'valAccuracy', value: target } }), {
      denseEval: { within: 1, every: 1 },
    });
    const [fast, slow] = dense.runs;
    expect(fast.stepsToTarget).toBe(Math.max(k, 4));
    const evaluated = (h: RunHistory) => h.step.filter((_, i) => h.valMetric[i] !== null);
    // From the first evaluation (step 4) every step until the target, then every 4th and the last.
    const reached = Math.max(k, 4);
    const expected = Array.from({ length: 12 }, (_, i) => i + 1).filter((st) => st >= 4 && (st <= reached || st % 4 === 0));
    expect(evaluated(fast.history)).toEqual(expected);
    // The slow run never reaches it: within 1 of it from its first evaluation, so evaluated every step from there.
    expect(slow.stepsToTarget).toBeNull();
    expect(evaluated(slow.history)).toEqual([4, 5, 6, 7, 8, 9, 10, 11, 12]);
    await expect(Experiment.create(cpu, pair({}), { denseEval: { within: 0.1, every: 0 } })).rejects.toThrow(/denseEval/);
  });

  it("an optimizer's notices reach the run's result: K-FAC-reduce on one graph says it is degenerate", async () => {
    const result = await runExperiment(cpu, {
      task: 'gcn-node',
      batchSize: 1,
      steps: 2,
      seed: 1,
      evalInterval: 2,
      optimizers: [{ id: 'kfac-reduce' }, { id: 'kfac-expand' }, { id: 'adam' }],
    });
    const [reduce, expand, adam] = result.runs;
    expect(reduce.notices).toHaveLength(1);
    expect(reduce.notices![0]).toMatch(/^degenerate-reduce: K-FAC-reduce sees one example per batch/);
    expect(expand.notices).toBeUndefined();
    expect(adam.notices).toBeUndefined();
  });

  it('stopAtFirstTarget ends every run at the step the first run reaches the target', async () => {
    const every = await runExperiment(cpu, pair({ evalInterval: 1 }));
    const [fastVal, slowVal] = every.runs.map((r) => r.history.valMetric as number[]);
    const target = Math.max(...fastVal);
    expect(Math.max(...slowVal)).toBeLessThan(target);
    const k = fastVal.indexOf(target) + 1;
    const result = await runExperiment(cpu, pair({ evalInterval: 1, target: { metric: 'valAccuracy', value: target } }), {
      stopAtTarget: true,
      stopAtFirstTarget: true,
    });
    expect(result.stopped).toBe(false);
    expect(result.runs.map((r) => r.stepsCompleted)).toEqual([k, k]);
    expect(result.runs.map((r) => r.stepsToTarget)).toEqual([k, null]);
  });
});

describe('control', () => {
  it('stop() ends every run after the current step', async () => {
    const controller = new ExperimentController();
    const result = await runExperiment(cpu, spirals({ steps: 50 }), {
      controller,
      onMetrics: (points) => {
        if (points[0].step === 3) controller.stop();
      },
    });
    expect(result.stopped).toBe(true);
    for (const run of result.runs) expect(run.stepsCompleted).toBe(3);
  });

  it('an aborted signal stops the run too', async () => {
    const abort = new AbortController();
    const result = await runExperiment(cpu, spirals({ steps: 50 }), {
      signal: abort.signal,
      onMetrics: (points) => points[0].step === 2 && abort.abort(),
    });
    expect(result.stopped).toBe(true);
    expect(result.runs[0].stepsCompleted).toBe(2);
  });

  it('pause() holds the experiment until resume()', async () => {
    const controller = new ExperimentController();
    let resumedAt = Number.POSITIVE_INFINITY;
    const stepTimes: number[] = [];
    const result = await runExperiment(cpu, spirals(), {
      controller,
      onMetrics: (points) => {
        stepTimes.push(performance.now());
        if (points[0].step === 2) {
          controller.pause();
          setTimeout(() => {
            resumedAt = performance.now();
            controller.resume();
          }, 50);
        }
      },
    });
    expect(result.stopped).toBe(false);
    expect(result.runs[0].stepsCompleted).toBe(5);
    expect(stepTimes[2]).toBeGreaterThanOrEqual(resumedAt);
  });

  it('stepOnce() lets exactly one interleaved step through while paused', async () => {
    const controller = new ExperimentController();
    const seen: number[] = [];
    const done = runExperiment(cpu, spirals({ steps: 6 }), {
      controller,
      onMetrics: (points) => {
        seen.push(points[0].step);
        if (points[0].step === 1) controller.pause();
      },
    });
    const settle = () => new Promise((resolve) => setTimeout(resolve, 40));
    await settle();
    expect(seen).toEqual([1]);
    controller.stepOnce();
    await settle();
    expect(seen).toEqual([1, 2]);
    controller.stepOnce();
    controller.stepOnce();
    await settle();
    expect(seen).toEqual([1, 2, 3, 4]);
    expect(controller.paused).toBe(true);
    controller.resume();
    const result = await done;
    expect(seen).toEqual([1, 2, 3, 4, 5, 6]);
    expect(result.runs[0].stepsCompleted).toBe(6);
  });
});

describe('presets', () => {
  for (const id of TASK_IDS) {
    it(`${id}: the preset is valid and trains for a few steps`, async () => {
      const preset = presetConfig(id);
      expect(validateConfig(preset).ok).toBe(true);
      expect(preset.batchSize).toBe(TASKS[id].defaultBatchSize);
      const result = await runExperiment(cpu, { ...preset, steps: 3, evalInterval: 3 });
      expect(result.parameterCount).toBeGreaterThan(0);
      expect(result.runs.map((r) => r.optimizer)).toEqual(['sgd', 'adam', 'kfac-expand', 'kfac-reduce']);
      for (const run of result.runs) {
        expect(run.error, run.label).toBeUndefined();
        expect(run.history.trainLoss).toHaveLength(3);
        expect(run.history.trainLoss.every(Number.isFinite)).toBe(true);
        const val = run.history.valMetric[2]!;
        expect(val).toBeGreaterThanOrEqual(0);
        expect(val).toBeLessThanOrEqual(1);
      }
    });
  }
});

describe('WebGPU', () => {
  it('runs an experiment on the GPU backend, starting where the CPU starts', async () => {
    const config: ExperimentConfig = {
      task: 'gcn-node',
      batchSize: 1,
      steps: 3,
      seed: 3,
      evalInterval: 3,
      optimizers: [
        { id: 'adam', hyper: { lr: 0.01 } },
        { id: 'kfac-expand', hyper: { lr: 0.1, damping: 0.01 } },
      ],
    };
    const gpu = await runExperiment(backends.gpu, config);
    const reference = await runExperiment(cpu, config);
    for (const [i, run] of gpu.runs.entries()) {
      expect(run.error).toBeUndefined();
      expect(run.stepsCompleted).toBe(3);
      expect(run.history.trainLoss.every(Number.isFinite)).toBe(true);
      // Same weights, same full-graph batch: the first loss agrees to float32 accuracy.
      expect(run.history.trainLoss[0]).toBeCloseTo(reference.runs[i].history.trainLoss[0], 4);
      expect(run.history.valMetric[2]).toBeGreaterThan(0);
    }
  });
});
