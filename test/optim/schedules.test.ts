import { describe, expect, it } from 'vitest';
import { CONSTANT_SCHEDULE, learningRateAt, learningRateFactor, scheduleSettings } from '../../src/engine/optim/schedules.ts';

describe('learning-rate schedules', () => {
  it('constant', () => {
    for (const step of [0, 1, 10, 100000]) expect(learningRateFactor(CONSTANT_SCHEDULE, step)).toBe(1);
    expect(learningRateAt(0.3, CONSTANT_SCHEDULE, 7)).toBe(0.3);
  });

  it('linear warmup: lr/W at step 0, full lr at step W−1', () => {
    const s = scheduleSettings({ warmupSteps: 4 });
    expect([0, 1, 2, 3, 4, 50].map((t) => learningRateFactor(s, t))).toEqual([0.25, 0.5, 0.75, 1, 1, 1]);
  });

  it('cosine with warmup: 1 when warmup ends, (1+f)/2 half way, f at totalSteps and after', () => {
    const s = scheduleSettings({ kind: 'cosine', warmupSteps: 10, totalSteps: 110, finalFraction: 0.1 });
    expect(learningRateFactor(s, 0)).toBeCloseTo(0.1, 15);
    expect(learningRateFactor(s, 9)).toBe(1);
    expect(learningRateFactor(s, 10)).toBe(1);
    expect(learningRateFactor(s, 35)).toBeCloseTo(0.1 + 0.9 * 0.5 * (1 + Math.cos(Math.PI / 4)), 15);
    expect(learningRateFactor(s, 60)).toBeCloseTo(0.55, 15);
    expect(learningRateFactor(s, 110)).toBeCloseTo(0.1, 15);
    expect(learningRateFactor(s, 5000)).toBeCloseTo(0.1, 15);
    // Monotone non-increasing after warmup.
    for (let t = 10; t < 120; t++) expect(learningRateFactor(s, t + 1)).toBeLessThanOrEqual(learningRateFactor(s, t));
  });

  it('cosine to zero without warmup', () => {
    const s = scheduleSettings({ kind: 'cosine', totalSteps: 100 });
    expect(learningRateFactor(s, 0)).toBe(1);
    expect(learningRateFactor(s, 50)).toBeCloseTo(0.5, 15);
    expect(learningRateFactor(s, 100)).toBeCloseTo(0, 15);
  });

  it('step decay, counted after warmup', () => {
    const s = scheduleSettings({ kind: 'step', decayEvery: 30, decayFactor: 0.1 });
    expect([0, 29, 30, 59, 60, 90].map((t) => learningRateFactor(s, t))).toEqual([1, 1, 0.1, 0.1, 0.1 ** 2, 0.1 ** 3]);
    const w = scheduleSettings({ kind: 'step', warmupSteps: 5, decayEvery: 10, decayFactor: 0.5 });
    expect([0, 4, 5, 14, 15, 25].map((t) => learningRateFactor(w, t))).toEqual([0.2, 1, 1, 1, 0.5, 0.25]);
  });

  it('rejects bad settings and steps', () => {
    expect(() => scheduleSettings({ kind: 'cosine', finalFraction: 2 })).toThrow(
      /schedule.finalFraction: 2 is out of range \(allowed: 0 to 1\)/,
    );
    expect(() => scheduleSettings({ warmupSteps: 1.5 })).toThrow(/schedule.warmupSteps: expected an integer/);
    expect(() => learningRateFactor(CONSTANT_SCHEDULE, -1)).toThrow(/non-negative integer/);
  });
});
