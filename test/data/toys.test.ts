import { describe, expect, it } from 'vitest';
import { checkerboardLabel, makeCheckerboard, makeSpirals } from '../../src/engine/data/toys.ts';

describe('2-D toys', () => {
  it('two spirals: sizes, balance, range, seeded and a fixed validation set', () => {
    const ds = makeSpirals({ seed: 4, pointsPerArm: 150, valPointsPerArm: 100, noise: 0.05 });
    expect(ds.train.count).toBe(300);
    expect(ds.val.count).toBe(200);
    expect(ds.train.labels.reduce((s, l) => s + l, 0)).toBe(150);
    for (const v of ds.train.inputs) expect(Math.abs(v)).toBeLessThan(1.4);
    const again = makeSpirals({ seed: 4, pointsPerArm: 500, valPointsPerArm: 100, noise: 0.05 });
    expect(Array.from(again.val.inputs)).toEqual(Array.from(ds.val.inputs)); // train size does not move the validation set
    expect(Array.from(makeSpirals({ seed: 5, pointsPerArm: 150 }).train.inputs)).not.toEqual(Array.from(ds.train.inputs));
    // Noise-free points sit on their arm: rotating arm 1 by π maps it onto arm 0's curve r = θ/(2π·turns).
    const clean = makeSpirals({ seed: 1, pointsPerArm: 50, noise: 0, turns: 1 });
    for (let i = 0; i < clean.train.count; i++) {
      const [x, y] = [clean.train.inputs[2 * i], clean.train.inputs[2 * i + 1]];
      const r = Math.hypot(x, y);
      let theta = Math.atan2(y, x) - clean.train.labels[i] * Math.PI;
      const expected = 2 * Math.PI * r;
      theta += 2 * Math.PI * Math.round((expected - theta) / (2 * Math.PI));
      expect(Math.abs(theta - expected)).toBeLessThan(1e-4);
    }
  });

  it('checkerboard: labels are cell parity, classes roughly balanced', () => {
    const ds = makeCheckerboard({ seed: 2, points: 4000, valPoints: 500, cells: 4 });
    expect(ds.train.count).toBe(4000);
    expect(ds.val.count).toBe(500);
    let ones = 0;
    for (let i = 0; i < ds.train.count; i++) {
      const x = ds.train.inputs[2 * i];
      const y = ds.train.inputs[2 * i + 1];
      expect(Math.abs(x) <= 1 && Math.abs(y) <= 1).toBe(true);
      const cx = Math.floor((x + 1) * 2);
      const cy = Math.floor((y + 1) * 2);
      expect(ds.train.labels[i]).toBe((cx + cy) % 2);
      ones += ds.train.labels[i];
    }
    expect(Math.abs(ones / 4000 - 0.5)).toBeLessThan(0.05);
    expect(checkerboardLabel(-0.9, -0.9, 2)).toBe(0);
    expect(checkerboardLabel(0.9, -0.9, 2)).toBe(1);
    expect(checkerboardLabel(1, 1, 2)).toBe(0); // the top edge belongs to the last cell
  });

  it('rejects bad arguments with clear errors', () => {
    expect(() => makeSpirals({ seed: 0, pointsPerArm: 0 })).toThrow(/pointsPerArm must be an integer/);
    expect(() => makeSpirals({ seed: 0, noise: -1 })).toThrow(/noise/);
    expect(() => makeCheckerboard({ seed: 0, cells: 0 })).toThrow(/cells/);
    expect(() => makeCheckerboard({} as never)).toThrow(/seed must be an integer/);
  });
});
