// Restored results reach the charts as one metrics batch, in the worker protocol's own packing.
import { describe, expect, it } from 'vitest';
import { historiesToBatch } from '../../src/ui/lab/lab-store.ts';
import { unpackMetrics } from '../../src/worker/protocol.ts';
import type { LabJson } from '../../src/engine/lab/report.ts';

describe('historiesToBatch', () => {
  it('packs every run’s history in order; unevaluated steps carry no validation metric', () => {
    const run = (trainLoss: number[], valMetric: (number | null)[]) => ({
      history: { step: trainLoss.map((_, i) => i + 1), trainLoss, valMetric, timeMs: trainLoss.map((_, i) => 10 * (i + 1)) },
    });
    const doc = { runs: [run([2, 1.5], [null, 0.4]), run([3], [0.2])] } as unknown as LabJson;
    expect(unpackMetrics(historiesToBatch(doc))).toEqual([
      { run: 0, step: 1, trainLoss: 2, elapsedMs: 10 },
      { run: 0, step: 2, trainLoss: 1.5, valMetric: 0.4, elapsedMs: 20 },
      { run: 1, step: 1, trainLoss: 3, valMetric: 0.2, elapsedMs: 10 },
    ]);
  });
});
