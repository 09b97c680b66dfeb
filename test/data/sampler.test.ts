import { describe, expect, it } from 'vitest';
import { deriveSeed, gatherRows, DataError } from '../../src/engine/data/common.ts';
import { BatchSampler, sequentialBatches } from '../../src/engine/data/sampler.ts';

const sorted = (a: Int32Array) => Array.from(a).sort((x, y) => x - y);
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

describe('BatchSampler', () => {
  it('replays the same order for the same seed, from any sampler instance and in any epoch order', () => {
    const a = new BatchSampler({ size: 103, batchSize: 10, seed: 7 });
    const b = new BatchSampler({ size: 103, batchSize: 10, seed: 7 });
    const later = Array.from(b.order(5));
    expect(Array.from(a.order(0))).toEqual(Array.from(b.order(0)));
    expect(Array.from(a.order(5))).toEqual(later);
    // Via steps: epoch 2, batch 3 of a fresh sampler equals batches(2)[3].
    expect(Array.from(new BatchSampler({ size: 103, batchSize: 10, seed: 7 }).batchAtStep(2 * 11 + 3).indices)).toEqual(
      Array.from(a.batches(2)[3]),
    );
  });

  it('different epochs and different seeds give different orders; every index once per epoch', () => {
    const s = new BatchSampler({ size: 257, batchSize: 32, seed: 1 });
    const e0 = Array.from(s.order(0));
    const e1 = Array.from(s.order(1));
    expect(e0).not.toEqual(e1);
    expect(e0).not.toEqual(range(257));
    expect(Array.from(new BatchSampler({ size: 257, batchSize: 32, seed: 2 }).order(0))).not.toEqual(e0);
    for (let epoch = 0; epoch < 4; epoch++) {
      const batches = s.batches(epoch);
      expect(batches.length).toBe(9);
      expect(batches.slice(0, 8).every((b) => b.length === 32)).toBe(true);
      expect(batches[8].length).toBe(1);
      expect(sorted(Int32Array.from(batches.flatMap((b) => Array.from(b))))).toEqual(range(257));
    }
  });

  it('dropLast drops the short batch; steps walk through epochs', () => {
    const s = new BatchSampler({ size: 50, batchSize: 16, seed: 3, dropLast: true });
    expect(s.batchesPerEpoch).toBe(3);
    expect(s.batches(0).map((b) => b.length)).toEqual([16, 16, 16]);
    const step = s.batchAtStep(7);
    expect([step.epoch, step.batchInEpoch]).toEqual([2, 1]);
    expect(Array.from(step.indices)).toEqual(Array.from(s.order(2).subarray(16, 32)));
    // Each epoch's batches are distinct indices.
    expect(new Set(s.batches(4).flatMap((b) => Array.from(b))).size).toBe(48);
  });

  it('shuffle: false and sequentialBatches keep the stored order (validation sets)', () => {
    const s = new BatchSampler({ size: 10, batchSize: 4, shuffle: false, seed: 99 });
    expect(Array.from(s.order(0))).toEqual(range(10));
    expect(Array.from(s.order(3))).toEqual(range(10));
    expect(sequentialBatches(10, 4).map((b) => Array.from(b))).toEqual([
      [0, 1, 2, 3],
      [4, 5, 6, 7],
      [8, 9],
    ]);
  });

  it('the order is close to uniform: each position sees every index about equally often', () => {
    const n = 8;
    const s = new BatchSampler({ size: n, batchSize: 8, seed: 11 });
    const counts = new Array(n * n).fill(0);
    const epochs = 4000;
    for (let e = 0; e < epochs; e++) s.order(e).forEach((v, pos) => counts[pos * n + v]++);
    for (const c of counts) expect(Math.abs(c - epochs / n)).toBeLessThan(6 * Math.sqrt(epochs / n));
  });

  it('rejects bad arguments with clear errors', () => {
    expect(() => new BatchSampler({ size: 0, batchSize: 4 })).toThrow(/size must be an integer >= 1, got 0/);
    expect(() => new BatchSampler({ size: 10, batchSize: 2.5 })).toThrow(/batchSize/);
    expect(() => new BatchSampler({ size: 10, batchSize: 4, seed: 0.5 })).toThrow(/seed must be an integer/);
    expect(() => new BatchSampler({ size: 3, batchSize: 4, dropLast: true })).toThrow(/no batch/);
    expect(() => new BatchSampler(undefined as never)).toThrow(DataError);
    const s = new BatchSampler({ size: 10, batchSize: 4 });
    expect(() => s.order(-1)).toThrow(/epoch/);
    expect(() => s.batchAtStep(1.5)).toThrow(/step/);
  });
});

describe('helpers', () => {
  it('deriveSeed is deterministic and separates streams', () => {
    expect(deriveSeed(1, 2, 3)).toBe(deriveSeed(1, 2, 3));
    const seeds = new Set<number>();
    for (let s = 0; s < 20; s++) for (let e = 0; e < 50; e++) seeds.add(deriveSeed(s, e));
    expect(seeds.size).toBe(1000);
    expect(deriveSeed(1, 2)).not.toBe(deriveSeed(2, 1));
  });

  it('gatherRows packs the rows of a batch', () => {
    const src = Float32Array.from(range(12)); // [4, 3]
    expect(Array.from(gatherRows(src, 3, [2, 0]))).toEqual([6, 7, 8, 0, 1, 2]);
    expect(gatherRows(Int32Array.from([5, 6, 7]), 1, [2, 2])).toEqual(Int32Array.from([7, 7]));
    expect(() => gatherRows(src, 3, [4])).toThrow(/out of range/);
    expect(() => gatherRows(src, 5, [0])).toThrow(/multiple/);
  });
});
