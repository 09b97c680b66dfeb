// The reproduction race's bookkeeping (bench/race-stats.ts): how a grid grows past an edge, where a
// winner sits, the ranking of trials, spreads over seeds, per-seed ratios and the steps goal.
import { describe, expect, it } from 'vitest';
import type { Trial } from '../../src/engine/lab/sweep.ts';
import {
  axisPosition,
  beyondEdge,
  formatSpread,
  rankForRace,
  ratiosPerSeed,
  spread,
  stepsGoal,
  type TuneAxis,
} from '../../bench/race-stats.ts';

const lr: TuneAxis = { key: 'lr', values: [0.03, 0.1, 0.3], space: 'log', min: 1e-6, max: 1 };
const momentum: TuneAxis = { key: 'momentum', values: [0.8, 0.9, 0.95], space: 'one-minus', min: 0, max: 0.999 };

function trial(point: Record<string, number>, stepsToTarget: number | null, finalVal: number, error: string | null = null): Trial {
  return {
    point,
    stepsToTarget,
    timeToTargetMs: stepsToTarget,
    stepsCompleted: stepsToTarget ?? 100,
    finalLoss: 1 - finalVal,
    finalVal,
    error,
  };
}

describe('tuning grids', () => {
  it('steps beyond an edge by the ratio at that edge (log) or on 1 − v (momentum), inside the range only', () => {
    expect(beyondEdge(lr, -1)).toBe(0.009);
    expect(beyondEdge(lr, 1)).toBe(0.9);
    expect(beyondEdge({ ...lr, max: 0.5 }, 1)).toBeNull();
    expect(beyondEdge(momentum, 1)).toBe(0.975);
    expect(beyondEdge(momentum, -1)).toBe(0.6);
    expect(beyondEdge({ ...lr, values: [0.1] }, 1)).toBeNull();
  });

  it('says where the winner sits', () => {
    expect(axisPosition(lr, 0.03)).toBe('low edge');
    expect(axisPosition(lr, 0.1)).toBe('interior');
    expect(axisPosition(lr, 0.3)).toBe('high edge');
    expect(axisPosition({ ...lr, values: [0.1] }, 0.1)).toBe('fixed');
  });

  it('ranks by steps to the target, then the accuracy there; non-reaching by final accuracy; failures last; never by time', () => {
    const slowClock = { ...trial({ lr: 1 }, 20, 0.9), timeToTargetMs: 1e9 };
    const ranked = rankForRace([
      trial({ lr: 5 }, null, 0.6, 'diverged'),
      trial({ lr: 4 }, null, 0.65),
      trial({ lr: 3 }, 30, 0.95),
      trial({ lr: 2 }, 20, 0.8),
      slowClock,
      trial({ lr: 6 }, null, 0.69),
    ]);
    expect(ranked.map((t) => t.point.lr)).toEqual([1, 2, 3, 6, 4, 5]);
  });
});

describe('seeds and goals', () => {
  it('median and range; per-seed ratios where both reached the target', () => {
    expect(spread([5, 1, 3, 2])).toEqual({ median: 2.5, min: 1, max: 5 });
    expect(spread([])).toBeNull();
    const ratios = ratiosPerSeed([50, null, 60, 70], [100, 100, null, 100]);
    expect(ratios).toEqual([0.5, null, null, 0.7]);
    expect(formatSpread(ratios)).toBe('0.60 [0.50–0.70] (2/4 seeds)');
    expect(formatSpread([null])).toBe('—');
  });

  it('the steps goal takes the better flavour and says by how much it is missed', () => {
    const met = stepsGoal(
      [
        { label: 'K-FAC-expand', ratios: [0.8, 0.9, 0.85] },
        { label: 'K-FAC-reduce', ratios: [0.6, 0.7, 0.5] },
      ],
      0.75,
    );
    expect(met).toMatchObject({ met: true, best: 'K-FAC-reduce' });
    expect(met.text).toBe("K-FAC-reduce: median 0.60× Adam's steps, goal ≤ 0.75");
    const missed = stepsGoal([{ label: 'K-FAC-expand', ratios: [0.9, 0.9, 1.2] }], 0.75);
    expect(missed.met).toBe(false);
    expect(missed.text).toMatch(/median 0\.90× .*\(missed by 0\.15, i\.e\. 20 % more steps than allowed/);
    // A flavour that missed a seed (no ratio) is not counted as meeting the goal.
    expect(stepsGoal([{ label: 'K-FAC-reduce', ratios: [0.5, null, 0.5] }], 0.75).met).toBe(false);
  });
});
