// The race page's KL-clip panel: its summary of ν per K-FAC run, its sparkline, and ν's way from a
// metric point through the worker's packed batch into the live series.
import { describe, expect, it } from 'vitest';
import { klClipSummary, klClipText, sparklinePoints } from '../../src/ui/pages/race/kl-clip.ts';
import { MetricSeries } from '../../src/ui/charts/metric-series.ts';
import { packMetrics, unpackMetrics } from '../../src/worker/protocol.ts';

describe('KL-clip summary', () => {
  it('counts the steps where the clip bound (ν < 1), the smallest ν and the latest', () => {
    const s = klClipSummary([1, 2, 3, 4, 5], [0.1, 0.05, 0.4, 1, 1])!;
    expect(s).toEqual({ steps: 5, last: 1, bound: 3, min: 0.05, minStep: 2, bindsNow: false });
    expect(klClipText(s)).toBe('ν 1.00 now; the clip bound on 3 of 5 steps (60 %); lowest 0.050 at step 2');
    const binding = klClipSummary([7], [0.0004])!;
    expect(binding.bindsNow).toBe(true);
    expect(klClipText(binding)).toBe('ν 4.0e-4 now; the clip bound on 1 of 1 steps (100 %); lowest 4.0e-4 at step 7');
    expect(klClipSummary([], [])).toBeNull();
  });

  it('the sparkline puts ν = 1 at the top and the floor at the bottom, thinned to maxPoints with the last kept', () => {
    expect(sparklinePoints([1, 2, 3], [1, 0.1, 1e-5], { width: 100, height: 30, floor: 1e-2 })).toBe('0.0,0.0 50.0,15.0 100.0,30.0');
    const steps = Array.from({ length: 11 }, (_, i) => i + 1);
    const points = sparklinePoints(
      steps,
      steps.map(() => 1),
      { width: 10, height: 4, maxPoints: 4 },
    ).split(' ');
    expect(points).toEqual(['0.0,0.0', '3.0,0.0', '6.0,0.0', '9.0,0.0', '10.0,0.0']);
  });
});

describe('ν from the worker to the charts', () => {
  it('packs, unpacks and lands in the series of its run only', () => {
    const points = [
      { run: 0, step: 1, trainLoss: 2, elapsedMs: 3 },
      { run: 1, step: 1, trainLoss: 2, elapsedMs: 4, klScale: 0.25 },
      { run: 1, step: 2, trainLoss: 1.5, valMetric: 0.5, elapsedMs: 8, klScale: 1 },
    ];
    const { batch, transfer } = packMetrics(points);
    expect(transfer).toContain(batch.klScale!.buffer);
    expect(unpackMetrics(batch)).toEqual(points);
    const series = new MetricSeries();
    series.reset([
      { label: 'Adam', optimizer: 'adam' },
      { label: 'K-FAC-reduce', optimizer: 'kfac-reduce' },
    ]);
    series.append(batch);
    expect(series.klSeries(0)).toEqual({ step: [], scale: [] });
    expect(series.klSeries(1)).toEqual({ step: [1, 2], scale: [0.25, 1] });
    series.dispose();
  });
});
