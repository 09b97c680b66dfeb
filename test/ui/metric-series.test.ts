import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MetricSeries, NOTIFY_INTERVAL_MS } from '../../src/ui/charts/metric-series.ts';
import type { MetricsBatch } from '../../src/worker/protocol.ts';

function batch(points: { run: number; step: number; loss: number; val?: number; ms: number }[]): MetricsBatch {
  return {
    run: Int32Array.from(points.map((p) => p.run)),
    step: Int32Array.from(points.map((p) => p.step)),
    trainLoss: Float64Array.from(points.map((p) => p.loss)),
    valMetric: Float64Array.from(points.map((p) => p.val ?? NaN)),
    elapsedMs: Float64Array.from(points.map((p) => p.ms)),
  };
}

const RUNS = [
  { label: 'SGD', optimizer: 'sgd' as const },
  { label: 'K-FAC-reduce', optimizer: 'kfac-reduce' as const },
];

describe('MetricSeries', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('appends interleaved batches per run; NaN valMetric means not evaluated', () => {
    const s = new MetricSeries();
    s.reset(RUNS);
    s.append(
      batch([
        { run: 0, step: 1, loss: 2.3, ms: 5 },
        { run: 1, step: 1, loss: 2.2, ms: 9 },
        { run: 0, step: 2, loss: 2.1, val: 0.4, ms: 10 },
      ]),
    );
    s.append(
      batch([
        { run: 1, step: 2, loss: 1.9, val: 0.5, ms: 18 },
        { run: 0, step: 3, loss: 2.0, ms: 15 },
        { run: 1, step: 3, loss: 1.7, ms: 27 },
      ]),
    );
    expect(s.series(0)).toEqual({
      step: [1, 2, 3],
      trainLoss: [2.3, 2.1, 2.0],
      timeMs: [5, 10, 15],
      valStep: [2],
      valMetric: [0.4],
      valTimeMs: [10],
    });
    expect(s.series(1)).toEqual({
      step: [1, 2, 3],
      trainLoss: [2.2, 1.9, 1.7],
      timeMs: [9, 18, 27],
      valStep: [2],
      valMetric: [0.5],
      valTimeMs: [18],
    });
    expect(s.pointCount()).toBe(6);
    expect(s.runs.map((r) => r.label)).toEqual(['SGD', 'K-FAC-reduce']);
  });

  it('keeps a non-finite training loss (a diverged step) and an infinite evaluation', () => {
    const s = new MetricSeries();
    s.reset(RUNS);
    s.append(batch([{ run: 0, step: 1, loss: NaN, val: Infinity, ms: 1 }]));
    expect(s.series(0).trainLoss[0]).toBeNaN();
    expect(s.series(0).valMetric).toEqual([Infinity]);
  });

  it('drops points of runs it does not know (a late batch from before a reset)', () => {
    const s = new MetricSeries();
    s.reset(RUNS.slice(0, 1));
    s.append(
      batch([
        { run: 0, step: 1, loss: 1, ms: 1 },
        { run: 3, step: 1, loss: 1, ms: 1 },
      ]),
    );
    expect(s.pointCount()).toBe(1);
    expect(s.series(3).step).toEqual([]);
  });

  it('notifies on a timer, at most once per interval, never once per point', () => {
    const s = new MetricSeries();
    const listener = vi.fn();
    s.subscribe(listener);
    s.reset(RUNS);
    for (let step = 1; step <= 50; step++) s.append(batch([{ run: 0, step, loss: 1, ms: step }]));
    expect(listener).not.toHaveBeenCalled(); // nothing synchronous
    vi.advanceTimersByTime(0);
    expect(listener).toHaveBeenCalledTimes(1);

    vi.advanceTimersByTime(10);
    s.append(batch([{ run: 1, step: 1, loss: 1, ms: 1 }]));
    s.append(batch([{ run: 1, step: 2, loss: 1, ms: 2 }]));
    vi.advanceTimersByTime(NOTIFY_INTERVAL_MS - 11);
    expect(listener).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(1);
    expect(listener).toHaveBeenCalledTimes(2);

    // Quiet: no timer, no call.
    vi.advanceTimersByTime(1000);
    expect(listener).toHaveBeenCalledTimes(2);
    // After a quiet spell the next batch is told at once (on a zero-delay timer).
    s.append(batch([{ run: 1, step: 3, loss: 1, ms: 3 }]));
    vi.advanceTimersByTime(0);
    expect(listener).toHaveBeenCalledTimes(3);
  });

  it('stays at ≤ 10 Hz under a steady stream of batches', () => {
    const s = new MetricSeries();
    const listener = vi.fn();
    s.subscribe(listener);
    s.reset(RUNS);
    for (let t = 1; t <= 1000; t++) {
      s.append(batch([{ run: 0, step: t, loss: 1, ms: t }]));
      vi.advanceTimersByTime(1); // a batch every millisecond for one second
    }
    expect(listener.mock.calls.length).toBeGreaterThanOrEqual(9);
    expect(listener.mock.calls.length).toBeLessThanOrEqual(11);
  });

  it('does not notify for an empty batch, nor after unsubscribe', () => {
    const s = new MetricSeries();
    const listener = vi.fn();
    const unsubscribe = s.subscribe(listener);
    s.reset(RUNS);
    vi.advanceTimersByTime(200);
    expect(listener).toHaveBeenCalledTimes(1);
    s.append(batch([]));
    vi.advanceTimersByTime(200);
    expect(listener).toHaveBeenCalledTimes(1);
    unsubscribe();
    s.append(batch([{ run: 0, step: 1, loss: 1, ms: 1 }]));
    vi.advanceTimersByTime(200);
    expect(listener).toHaveBeenCalledTimes(1);
  });

  it('reset forgets the points, takes the new runs, counts a generation and notifies', () => {
    const s = new MetricSeries();
    const listener = vi.fn();
    s.subscribe(listener);
    s.reset(RUNS);
    s.append(batch([{ run: 1, step: 1, loss: 1, val: 0.3, ms: 1 }]));
    const generation = s.generation;
    vi.advanceTimersByTime(200);
    listener.mockClear();

    s.reset([{ label: 'Adam', optimizer: 'adam' }]);
    expect(s.generation).toBe(generation + 1);
    expect(s.pointCount()).toBe(0);
    expect(s.runs).toEqual([{ label: 'Adam', optimizer: 'adam' }]);
    expect(s.series(0).step).toEqual([]);
    expect(s.series(1).valMetric).toEqual([]);
    vi.advanceTimersByTime(200);
    expect(listener).toHaveBeenCalledTimes(1);
  });

  it('dispose drops a pending notification', () => {
    const s = new MetricSeries();
    const listener = vi.fn();
    s.subscribe(listener);
    s.reset(RUNS);
    s.dispose();
    vi.advanceTimersByTime(500);
    expect(listener).not.toHaveBeenCalled();
  });
});
