// The periodic host copy and the resume from it (src/engine/lab/host-copy.ts): an experiment stopped
// mid-run and rebuilt from its copies continues every run from the copy's step and ends with the
// same losses as an uninterrupted one (on the CPU, where every step is deterministic: SGD with
// momentum, Adam's moments and update counts, K-FAC's factors, velocities and step count travel
// with the copy); runs that had finished keep their results; the copy can cross backends.
import { afterAll, describe, expect, it } from 'vitest';
import type { Backend } from '../../src/engine/backend/backend.ts';
import { CpuBackend } from '../../src/engine/backend/cpu/cpu-backend.ts';
import { ExperimentController } from '../../src/engine/lab/controller.ts';
import type { ExperimentConfig } from '../../src/engine/lab/experiment-config.ts';
import { Experiment, runExperiment } from '../../src/engine/lab/experiment.ts';
import type { ExperimentResult } from '../../src/engine/lab/results.ts';
import { useBackends } from '../helpers/backends.ts';

const cpu = new CpuBackend();
const backends = useBackends();
afterAll(() => cpu.destroy());

const STEPS = 40;
const INTERVAL = 10;

const config = (overrides: Partial<ExperimentConfig> = {}): ExperimentConfig => ({
  task: 'mlp-spirals',
  batchSize: 32,
  steps: STEPS,
  seed: 5,
  evalInterval: 8,
  target: null,
  optimizers: [
    { id: 'sgd', hyper: { lr: 0.1, momentum: 0.9 } },
    { id: 'adam', hyper: { lr: 0.01 } },
    // T_inv = 1: the inverses recomputed after the resume are the ones the schedule would compute anyway.
    { id: 'kfac-reduce', hyper: { lr: 0.1, damping: 0.01, momentum: 0.5, tInv: 1 } },
  ],
  ...overrides,
});

/** Run until `stopAfter` steps, then resume on `resumeOn` from the copies; the second experiment's result. */
async function interruptAndResume(
  cfg: ExperimentConfig,
  stopAfter: number,
  resumeOn: Backend = cpu,
): Promise<{ first: ExperimentResult; second: ExperimentResult; resumedFrom: (number | null)[] }> {
  const controller = new ExperimentController();
  const first = await Experiment.create(cpu, cfg, {
    controller,
    hostCopyInterval: INTERVAL,
    onMetrics: (points) => {
      if (points.some((p) => p.step >= stopAfter)) controller.stop();
    },
  });
  let firstResult: ExperimentResult;
  let points;
  try {
    firstResult = await first.run();
    // One copy per run at every multiple of the interval up to the stop.
    expect(first.hostCopyStats.copies).toBe(Math.floor(stopAfter / INTERVAL) * cfg.optimizers.length);
    points = first.resumePoints((_, r) => r.stepsCompleted < cfg.steps && r.error === undefined);
  } finally {
    first.dispose();
  }
  const resumedFrom = points.map((p) => (p.kind === 'resume' ? (p.copy?.step ?? 0) : null));
  const firstSnapshot = structuredClone(firstResult);
  const second = await runExperiment(resumeOn, cfg, { resume: points, hostCopyInterval: INTERVAL });
  return { first: firstSnapshot, second, resumedFrom };
}

describe('host copy and resume', () => {
  it('a resumed experiment ends with the losses of an uninterrupted one (CPU)', async () => {
    const cfg = config();
    const whole = await runExperiment(cpu, cfg);
    const { first, second, resumedFrom } = await interruptAndResume(cfg, 25);
    expect(first.stopped).toBe(true);
    expect(first.runs.map((r) => r.stepsCompleted)).toEqual([25, 25, 25]);
    expect(resumedFrom).toEqual([20, 20, 20]);
    expect(second.stopped).toBe(false);
    second.runs.forEach((run, i) => {
      expect(run.error, run.label).toBeUndefined();
      expect(run.stepsCompleted).toBe(STEPS);
      expect(run.history.step).toEqual(Array.from({ length: STEPS }, (_, k) => k + 1));
      expect(run.history.trainLoss, run.label).toEqual(whole.runs[i].history.trainLoss);
      expect(run.history.valMetric, run.label).toEqual(whole.runs[i].history.valMetric);
      // The clock goes on from the copy's time.
      expect(run.history.timeMs.every((t, k) => k === 0 || t >= run.history.timeMs[k - 1])).toBe(true);
      expect(Object.keys(run.phaseMs).length).toBeGreaterThan(0);
    });
  });

  it('a run stopped before its first copy starts again from the initial weights; a finished run is kept', async () => {
    const cfg = config({
      optimizers: [
        { id: 'adam', hyper: { lr: 0.01 } },
        { id: 'sgd', hyper: { lr: 0.1 } },
      ],
    });
    const whole = await runExperiment(cpu, cfg);
    const { second, resumedFrom } = await interruptAndResume(cfg, 5);
    expect(resumedFrom).toEqual([0, 0]);
    second.runs.forEach((run, i) => expect(run.history.trainLoss).toEqual(whole.runs[i].history.trainLoss));

    // Resume points that say "finished" leave the run alone (no steps, the same result object).
    const finished = whole.runs.map((result) => ({ kind: 'finished' as const, result }));
    const again = await runExperiment(cpu, cfg, { resume: finished });
    expect(again.runs).toEqual(whole.runs);
  });

  it('the copy crosses backends: stopped on the CPU, resumed on WebGPU, the losses follow the uninterrupted run', async () => {
    const gpu = backends.gpu;
    console.log(`[host-copy] resuming on ${gpu.name}`);
    const cfg = config({
      steps: 24,
      optimizers: [
        { id: 'adam', hyper: { lr: 0.01 } },
        { id: 'kfac-expand', hyper: { lr: 0.1, damping: 0.01, tInv: 1 } },
      ],
    });
    const whole = await runExperiment(cpu, cfg);
    const { second, resumedFrom } = await interruptAndResume(cfg, 15, gpu);
    expect(resumedFrom).toEqual([10, 10]);
    second.runs.forEach((run, i) => {
      expect(run.stepsCompleted).toBe(24);
      const expected = whole.runs[i].history.trainLoss;
      // float32 on another device: close, not bit-identical.
      run.history.trainLoss.forEach((loss, k) =>
        expect(Math.abs(loss - expected[k]), `${run.label} step ${k + 1}`).toBeLessThan(1e-3 * (1 + Math.abs(expected[k]))),
      );
    });
  });

  it("an optimizer refuses another optimizer's exported state", async () => {
    const experiment = await Experiment.create(cpu, config({ steps: 2 }));
    try {
      await experiment.run();
      const [sgd, adam, kfac] = experiment.optimizers;
      const params = experiment.models[1].parameters();
      const adamState = await adam.exportState(params);
      expect(Object.keys(adamState.params[params[0].name]).sort()).toEqual(['m', 't', 'v']);
      expect(() => sgd.importState(experiment.models[0].parameters(), adamState)).toThrow(
        /sgd.importState: the state was exported by "adam"/,
      );
      const kfacState = await kfac.exportState(experiment.models[2].parameters());
      expect(kfacState.counters.updates).toBe(2);
      expect(Object.keys(kfacState.factors ?? {}).length).toBeGreaterThan(0);
      expect(() => adam.importState(params, kfacState)).toThrow(/exported by "kfac-reduce"/);
    } finally {
      experiment.dispose();
    }
  });

  it('refuses resume points that do not match the config', async () => {
    await expect(Experiment.create(cpu, config(), { resume: [] })).rejects.toThrow(/resume: 0 resume points for 3 runs/);
    await expect(Experiment.create(cpu, config(), { hostCopyInterval: -1 })).rejects.toThrow(/hostCopyInterval/);
  });
});
