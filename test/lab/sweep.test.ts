// Sweeps: parsing "group.key=v1,v2" against the schema, the grid, the ranking rule, and a real tuning
// run on the CPU backend whose winner is checked against the trials it ran.
import { afterAll, describe, expect, it } from 'vitest';
import { CpuBackend } from '../../src/engine/backend/cpu/cpu-backend.ts';
import { gridPoints, parseSweep, rankTrials, SweepError, tuneExperiment, tuningTable, type Trial } from '../../src/engine/lab/sweep.ts';
import { runExperiment } from '../../src/engine/lab/experiment.ts';
import type { ExperimentConfig } from '../../src/engine/lab/experiment-config.ts';

const cpu = new CpuBackend();
afterAll(() => cpu.destroy());

const trial = (over: Partial<Trial>): Trial => ({
  point: {},
  stepsToTarget: null,
  timeToTargetMs: null,
  stepsCompleted: 10,
  finalLoss: 1,
  finalVal: 0.5,
  error: null,
  ...over,
});

describe('parseSweep', () => {
  it('parses values with the schema types and keeps their order', () => {
    expect(parseSweep('adam.lr=1e-3, 3e-3,0.01')).toEqual({ group: 'adam', key: 'lr', values: [1e-3, 3e-3, 0.01] });
    expect(parseSweep('kfac-reduce.damping=0.001,0.1').values).toEqual([0.001, 0.1]);
    expect(parseSweep('sgd.nesterov=true,false').values).toEqual([true, false]);
  });

  it('rejects what --set would reject, and more', () => {
    const message = (text: string) => {
      try {
        parseSweep(text);
      } catch (e) {
        expect(e).toBeInstanceOf(SweepError);
        return (e as Error).message;
      }
      throw new Error(`${text} parsed`);
    };
    expect(message('adam.lr')).toMatch(/expected group\.key=v1,v2/);
    expect(message('adam.lr=')).toMatch(/comma-separated list/);
    expect(message('adam.lr=1e-3,,1e-2')).toMatch(/comma-separated list/);
    expect(message('adam.lr=1e-3,-1')).toMatch(/adam\.lr/);
    expect(message('adam.nope=1')).toMatch(/unknown hyperparameter/);
    expect(message('adam.lr=0.1,0.1')).toMatch(/listed twice/);
    expect(message('schedule.warmupSteps=1,2')).toMatch(/optimizer's hyperparameter/);
  });
});

describe('grid and ranking', () => {
  it('the grid is the product of the axes, last axis fastest', () => {
    const points = gridPoints([
      { group: 'kfac-reduce', key: 'lr', values: [0.1, 0.2] },
      { group: 'kfac-reduce', key: 'damping', values: [1e-3, 1e-2, 1e-1] },
    ]);
    expect(points).toHaveLength(6);
    expect(points[0]).toEqual({ lr: 0.1, damping: 1e-3 });
    expect(points[1]).toEqual({ lr: 0.1, damping: 1e-2 });
    expect(points[5]).toEqual({ lr: 0.2, damping: 1e-1 });
  });

  it('ranks: reached by fewest steps then time; then best final metric, lowest loss; failures last', () => {
    const a = trial({ point: { lr: 1 }, stepsToTarget: 20, timeToTargetMs: 50 });
    const b = trial({ point: { lr: 2 }, stepsToTarget: 20, timeToTargetMs: 40 });
    const c = trial({ point: { lr: 3 }, stepsToTarget: 10, timeToTargetMs: 90 });
    const d = trial({ point: { lr: 4 }, finalVal: 0.9, finalLoss: 2 });
    const e = trial({ point: { lr: 5 }, finalVal: 0.9, finalLoss: 1 });
    const f = trial({ point: { lr: 6 }, error: 'diverged', finalVal: 0.99 });
    expect(rankTrials([f, e, d, a, b, c]).map((t) => t.point.lr)).toEqual([3, 2, 1, 5, 4, 6]);
  });
});

describe('tuneExperiment', () => {
  const config: ExperimentConfig = {
    task: 'mlp-spirals',
    batchSize: 32,
    steps: 40,
    seed: 3,
    evalInterval: 5,
    target: { metric: 'valAccuracy', value: 0.75 },
    optimizers: [
      { id: 'sgd', hyper: { lr: 0.1, momentum: 0.9 } },
      { id: 'adam', hyper: { lr: 0.01 } },
    ],
  };

  it('tries every grid point of the swept run, keeps the best, leaves the others alone', async () => {
    const axes = [parseSweep('sgd.lr=0.001,0.3')];
    const { config: tuned, tuning } = await tuneExperiment(cpu, config, axes);
    expect(tuning).toHaveLength(1);
    const t = tuning[0];
    expect(t.run).toBe(0);
    expect(t.trials.map((x) => x.point.lr).sort()).toEqual([0.001, 0.3]);
    // lr 0.001 barely moves in 40 steps; lr 0.3 with momentum learns: the ranking must prefer it.
    expect(t.best).toEqual({ lr: 0.3 });
    expect(tuned.optimizers[0].hyper).toEqual({ lr: 0.3, momentum: 0.9 });
    expect(tuned.optimizers[1]).toEqual(config.optimizers[1]);
    // The trial numbers are those of a plain run with the winning values (same weights, same batches).
    const plain = await runExperiment(cpu, { ...tuned, optimizers: [tuned.optimizers[0]] }, { stopAtTarget: true });
    const winner = t.trials.find((x) => x.point.lr === 0.3)!;
    expect(winner.stepsToTarget).toBe(plain.runs[0].stepsToTarget);
    expect(tuningTable(tuning)).toMatch(/tuned lr=0\.3/);
  });

  it('refuses an axis for an optimizer that is not among the runs', async () => {
    await expect(tuneExperiment(cpu, config, [parseSweep('kfac-reduce.lr=0.1,0.2')])).rejects.toThrow(/not among the runs/);
  });
});
