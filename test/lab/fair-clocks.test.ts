// Fair clocks (docs/architecture.md, the experiment runner): one-time costs — pipeline compilation,
// first-use setup — must not land on whichever run steps first. The CPU tests use a fake clock and a
// backend whose first call of each kernel costs a "compilation" of a million fake ms (every call 1 ms), so
// a run's time is a count of the work it did; the WebGPU test counts the pipelines really compiled.
import { describe, expect, it } from 'vitest';
import type { Backend } from '../../src/engine/backend/backend.ts';
import { CpuBackend } from '../../src/engine/backend/cpu/cpu-backend.ts';
import { codePathKey, Experiment, runExperiment, WARMUP_STEPS } from '../../src/engine/lab/experiment.ts';
import { validateConfigOrThrow, type ExperimentConfig, type OptimizerEntry } from '../../src/engine/lab/experiment-config.ts';
import { useBackends } from '../helpers/backends.ts';

const COMPILE_MS = 1e6;

/** A CPU backend on a fake clock: the first call of each method costs COMPILE_MS, every call 1 ms. */
function compilingBackend(): { backend: Backend; clock: () => number; destroy(): void } {
  const inner = new CpuBackend();
  let now = 0;
  const seen = new Set<PropertyKey>();
  const backend = new Proxy(inner, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver);
      if (typeof value !== 'function') return value;
      return function (this: unknown, ...args: unknown[]) {
        if (!seen.has(key)) {
          seen.add(key);
          now += COMPILE_MS;
        }
        now += 1;
        return Reflect.apply(value, this, args);
      };
    },
  }) as unknown as Backend;
  return { backend, clock: () => now, destroy: () => inner.destroy() };
}

const spirals = (optimizers: OptimizerEntry[], overrides: Partial<ExperimentConfig> = {}): ExperimentConfig => ({
  task: 'mlp-spirals',
  batchSize: 16,
  steps: 4,
  seed: 3,
  evalInterval: 2,
  target: null,
  optimizers,
  ...overrides,
});

/** Each run's time per step (ms), from its cumulative clock. */
function stepTimes(timeMs: readonly number[]): number[] {
  return timeMs.map((t, i) => t - (i === 0 ? 0 : timeMs[i - 1]));
}

describe('fair clocks: compilation is not charged to the run that steps first', () => {
  it('two identical runs get identical clocks, step for step; no step carries a compilation', async () => {
    const fake = compilingBackend();
    try {
      const result = await runExperiment(fake.backend, spirals([{ id: 'adam' }, { id: 'adam' }]), { clock: fake.clock });
      const [first, second] = result.runs.map((r) => stepTimes(r.history.timeMs));
      expect(first).toEqual(second);
      for (const ms of first) expect(ms).toBeLessThan(COMPILE_MS);
    } finally {
      fake.destroy();
    }
  });

  it('without the warm-up the run stepped first pays the compilation (what the warm-up removes)', async () => {
    const fake = compilingBackend();
    try {
      const result = await runExperiment(fake.backend, spirals([{ id: 'adam' }, { id: 'adam' }]), { clock: fake.clock, warmupSteps: 0 });
      const [first, second] = result.runs.map((r) => stepTimes(r.history.timeMs));
      expect(first[0]).toBeGreaterThan(COMPILE_MS);
      expect(second[0]).toBeLessThan(COMPILE_MS);
    } finally {
      fake.destroy();
    }
  });

  it('K-FAC and SGD: each run times the same in either order; no step of either carries a compilation', async () => {
    const sgd: OptimizerEntry = { id: 'sgd', hyper: { lr: 0.1 } };
    const kfac: OptimizerEntry = { id: 'kfac-reduce', hyper: { lr: 0.1, damping: 0.01, tInv: 3 } };
    const times = async (optimizers: OptimizerEntry[]) => {
      const fake = compilingBackend();
      try {
        const result = await runExperiment(fake.backend, spirals(optimizers, { steps: 5 }), { clock: fake.clock });
        return Object.fromEntries(result.runs.map((r) => [r.optimizer, stepTimes(r.history.timeMs)]));
      } finally {
        fake.destroy();
      }
    };
    const forward = await times([sgd, kfac]);
    const backward = await times([kfac, sgd]);
    expect(backward).toEqual(forward);
    for (const ms of [...forward.sgd, ...forward['kfac-reduce']]) expect(ms).toBeLessThan(COMPILE_MS);
  });

  it('the warm-up leaves every run as it was: the same losses and validation with and without it', async () => {
    const cpu = new CpuBackend();
    try {
      const config = spirals([
        { id: 'sgd', hyper: { lr: 0.1 } },
        { id: 'kfac-expand', hyper: { lr: 0.1, damping: 0.01 } },
      ]);
      const cold = await runExperiment(cpu, config, { warmupSteps: 0 });
      const live = cpu.memory().liveTensors;
      const warm = await runExperiment(cpu, config);
      // The throwaway models and optimizers of the warm-up are released.
      expect(cpu.memory().liveTensors).toBe(live);
      warm.runs.forEach((r, i) => {
        expect(r.history.trainLoss).toEqual(cold.runs[i].history.trainLoss);
        expect(r.history.valMetric).toEqual(cold.runs[i].history.valMetric);
      });
    } finally {
      cpu.destroy();
    }
  });

  it('one warm-up per code path: the numbers do not change the kernels, switches and zeros do', () => {
    const key = (entry: OptimizerEntry) => codePathKey(validateConfigOrThrow(spirals([entry])).optimizers[0]);
    expect(key({ id: 'adam', hyper: { lr: 1e-3 } })).toBe(key({ id: 'adam', hyper: { lr: 3e-2 } }));
    expect(key({ id: 'kfac-reduce', hyper: { damping: 1e-3 } })).toBe(key({ id: 'kfac-reduce', hyper: { damping: 1 } }));
    expect(key({ id: 'kfac-reduce', hyper: { klClip: 0 } })).not.toBe(key({ id: 'kfac-reduce', hyper: { klClip: 1e-3 } }));
    expect(key({ id: 'kfac-reduce', hyper: { inverseMethod: 'eigen' } })).not.toBe(key({ id: 'kfac-reduce' }));
    expect(key({ id: 'kfac-reduce' })).not.toBe(key({ id: 'kfac-expand' }));
    expect(key({ id: 'sgd', hyper: { momentum: 0 } })).not.toBe(key({ id: 'sgd', hyper: { momentum: 0.9 } }));
  });

  it('a stop before the start skips the warm-up; bad warm-up counts are refused', async () => {
    const cpu = new CpuBackend();
    try {
      const aborted = new AbortController();
      aborted.abort();
      const result = await runExperiment(cpu, spirals([{ id: 'adam' }]), { signal: aborted.signal });
      expect(result.stopped).toBe(true);
      expect(result.runs[0].stepsCompleted).toBe(0);
      const experiment = await Experiment.create(cpu, spirals([{ id: 'adam' }]), { warmupSteps: -1 });
      await expect(experiment.warmUp()).rejects.toThrow(/warmupSteps: expected a whole number ≥ 0, got -1/);
      experiment.dispose();
    } finally {
      cpu.destroy();
    }
  });
});

describe('fair clocks on WebGPU', () => {
  const backends = useBackends();

  it('after warmUp() the timed steps compile no pipeline', async () => {
    const gpu = backends.gpu;
    // Every kind of step: K-FAC inverts at steps 0 (warm start) and 2, 4 (T_inv 2) and not at 1, 3.
    const config = spirals(
      [
        { id: 'adam', hyper: { lr: 0.01 } },
        { id: 'kfac-reduce', hyper: { lr: 0.1, damping: 0.01, tInv: 2, inverseWarmup: 1 } },
      ],
      { steps: 5, evalInterval: 5, batchSize: 8 },
    );
    const experiment = await Experiment.create(gpu, config, {
      // Read after every interleaved step; only the last one evaluates (untimed, so not warmed).
      onMetrics: (points) => {
        if (points[0].step < 5) compiledPerStep.push(gpu.runtime.counters.pipelinesCompiled);
      },
    });
    const compiledPerStep: number[] = [];
    try {
      await experiment.warmUp();
      const compiled = gpu.runtime.counters.pipelinesCompiled;
      expect(compiled).toBeGreaterThan(0);
      const result = await experiment.run();
      for (const r of result.runs) expect(r.error).toBeUndefined();
      expect(compiledPerStep).toEqual(new Array(4).fill(compiled));
      expect(WARMUP_STEPS).toBe(1);
    } finally {
      experiment.dispose();
    }
  });
});
