// The results table's numbers: steps and time to target from the evaluated points, ratios to the best
// first-order run (the same rule as the CLI's report), speed, final metrics, and failed runs.
import { describe, expect, it } from 'vitest';
import { fastestToTarget, seriesOfHistory, summarize, summarizeLabJson } from '../../src/ui/results/summaries.ts';
import type { RunMeta, RunSeries } from '../../src/ui/charts/metric-series.ts';
import { formatLoss, formatPercent, formatRatio, formatSeconds, formatStepsPerSecond } from '../../src/ui/results/format.ts';
import { firstOrderBaseline, type LabJson } from '../../src/engine/lab/report.ts';
import { presetConfig } from '../../src/engine/lab/presets.ts';
import { reachTarget, type RunResult } from '../../src/engine/lab/results.ts';
import { validateConfigOrThrow } from '../../src/engine/lab/experiment-config.ts';
import type { OptimizerId } from '../../src/engine/optim/schema.ts';

/** A run evaluated every `every` steps with the given validation values, `msPerStep` per step. */
function series(valMetric: number[], every: number, msPerStep: number, losses?: number[]): RunSeries {
  const steps = valMetric.length * every;
  const s: RunSeries = { step: [], trainLoss: [], timeMs: [], valStep: [], valMetric: [], valTimeMs: [] };
  for (let k = 1; k <= steps; k++) {
    s.step.push(k);
    s.trainLoss.push(losses?.[k - 1] ?? 1 / k);
    s.timeMs.push(k * msPerStep);
    if (k % every === 0) {
      s.valStep.push(k);
      s.valMetric.push(valMetric[k / every - 1]);
      s.valTimeMs.push(k * msPerStep);
    }
  }
  return s;
}

const meta = (optimizer: OptimizerId, label = optimizer): RunMeta => ({ optimizer, label });

describe('summarize', () => {
  const runs = [meta('sgd'), meta('adam'), meta('kfac-expand'), meta('kfac-reduce')];
  const data: RunSeries[] = [
    series([0.3, 0.5, 0.7, 0.8], 10, 10), // never reaches 0.85
    series([0.5, 0.7, 0.86, 0.9], 10, 12), // reaches at step 30, 360 ms
    series([0.7, 0.9, 0.95, 0.96], 10, 20), // step 20, 400 ms
    series([0.86, 0.9, 0.95, 0.97], 10, 15), // step 10, 150 ms
  ];
  const rows = summarize({ runs, series: (i) => data[i], target: 0.85, totalSteps: 40, errors: [null, null, null, null] });

  it('finds steps and time to target at the first evaluated point at or above it', () => {
    expect(rows.map((r) => r.stepsToTarget)).toEqual([null, 30, 20, 10]);
    expect(rows.map((r) => r.timeToTargetMs)).toEqual([null, 360, 400, 150]);
  });

  it('takes ratios against the best first-order run that reached the target', () => {
    // Only Adam (SGD never reached): 30 steps, 360 ms.
    expect(rows[1].stepsRatio).toBe(1);
    expect(rows[2].stepsRatio).toBeCloseTo(20 / 30, 12);
    expect(rows[2].timeRatio).toBeCloseTo(400 / 360, 12);
    expect(rows[3].stepsRatio).toBeCloseTo(10 / 30, 12);
    expect(rows[3].timeRatio).toBeCloseTo(150 / 360, 12);
    expect(rows[0].stepsRatio).toBeNull();
    expect(rows[0].timeRatio).toBeNull();
  });

  it('reports speed, final loss and final validation metric', () => {
    expect(rows[0].stepsDone).toBe(40);
    expect(rows[0].totalSteps).toBe(40);
    expect(rows[0].stepsPerSecond).toBeCloseTo(40 / 0.4, 9); // 40 steps in 400 ms
    expect(rows[3].stepsPerSecond).toBeCloseTo(40 / 0.6, 9);
    expect(rows[0].finalLoss).toBeCloseTo(1 / 40, 12);
    expect(rows[3].finalVal).toBe(0.97);
    expect(rows.map((r) => r.label)).toEqual(['sgd', 'adam', 'kfac-expand', 'kfac-reduce']);
  });

  it('gives no ratios when no first-order run reached the target', () => {
    const only = summarize({
      runs: [meta('sgd'), meta('kfac-reduce')],
      series: (i) => [data[0], data[3]][i],
      target: 0.85,
      totalSteps: 40,
      errors: [null, null],
    });
    expect(only[1].stepsToTarget).toBe(10);
    expect(only[1].stepsRatio).toBeNull();
    expect(only[1].timeRatio).toBeNull();
  });

  it('takes the fewest steps and the shortest time separately (two first-order runs)', () => {
    const a = series([0.9], 10, 50); // step 10, 500 ms
    const b = series([0.5, 0.9], 10, 10); // step 20, 200 ms
    const k = series([0.9], 5, 30); // step 5, 150 ms
    const out = summarize({
      runs: [meta('sgd'), meta('adam'), meta('kfac-reduce')],
      series: (i) => [a, b, k][i],
      target: 0.85,
      totalSteps: 20,
      errors: [null, null, null],
    });
    expect(out[2].stepsRatio).toBeCloseTo(5 / 10, 12);
    expect(out[2].timeRatio).toBeCloseTo(150 / 200, 12);
  });

  it('without a target measures nothing to target', () => {
    const out = summarize({ runs, series: (i) => data[i], target: null, totalSteps: 40, errors: [null, null, null, null] });
    for (const r of out) {
      expect(r.stepsToTarget).toBeNull();
      expect(r.timeToTargetMs).toBeNull();
      expect(r.stepsRatio).toBeNull();
    }
    expect(out[3].finalVal).toBe(0.97);
  });

  it('keeps a failed run’s partial numbers and its message', () => {
    const diverged = series([0.86], 10, 10, [2, 1.5, 1, 3, 9, 80, 1e5, 1e20, Infinity, NaN]);
    const out = summarize({
      runs: [meta('adam'), meta('kfac-expand')],
      series: (i) => [data[1], diverged][i],
      target: 0.85,
      totalSteps: 40,
      errors: [null, 'loss became NaN at step 10'],
    });
    expect(out[1].error).toBe('loss became NaN at step 10');
    expect(out[1].stepsDone).toBe(10);
    expect(out[1].finalLoss).toBeNaN();
    expect(out[1].finalVal).toBe(0.86);
    expect(out[1].stepsToTarget).toBe(10);
    expect(out[1].stepsRatio).toBeCloseTo(10 / 30, 12);
    expect(out[1].stepsPerSecond).toBeCloseTo(10 / 0.1, 9);
    expect(out[0].error).toBeNull();
  });

  it('handles runs with no points yet', () => {
    const empty: RunSeries = { step: [], trainLoss: [], timeMs: [], valStep: [], valMetric: [], valTimeMs: [] };
    const [r] = summarize({ runs: [meta('adam')], series: () => empty, target: 0.5, totalSteps: 10, errors: [] });
    expect(r).toMatchObject({ stepsDone: 0, finalLoss: null, finalVal: null, stepsToTarget: null, stepsPerSecond: null, error: null });
  });

  it('ignores NaN validation points', () => {
    const s = series([0.2, 0.9], 5, 1);
    s.valMetric[0] = NaN;
    const [r] = summarize({ runs: [meta('adam')], series: () => s, target: 0.5, totalSteps: 10, errors: [null] });
    expect(r.stepsToTarget).toBe(10);
  });
});

describe('live summaries give the CLI report’s steps, times and first-order baseline', () => {
  /** The engine's RunResult for a series (history with null where not evaluated). */
  function runResult(optimizer: OptimizerId, s: RunSeries, target: number): RunResult {
    const valAt = new Map(s.valStep.map((step, i) => [step, s.valMetric[i]]));
    const history = {
      step: [...s.step],
      trainLoss: [...s.trainLoss],
      timeMs: [...s.timeMs],
      valMetric: s.step.map((k) => valAt.get(k) ?? null),
    };
    const reached = reachTarget(history, target);
    return {
      optimizer,
      label: optimizer,
      hyper: {},
      history,
      stepsToTarget: reached?.steps ?? null,
      timeToTargetMs: reached?.timeMs ?? null,
      phaseMs: {},
      stepsCompleted: s.step.length,
    };
  }

  const cases: [OptimizerId, RunSeries][][] = [
    [
      ['sgd', series([0.9], 10, 50)],
      ['adam', series([0.5, 0.9], 10, 10)],
      ['kfac-reduce', series([0.9], 5, 30)],
    ],
    [
      ['sgd', series([0.1, 0.2], 10, 50)],
      ['kfac-expand', series([0.9], 5, 30)],
    ],
    [
      ['adam', series([0.1, 0.2, 0.95], 7, 3)],
      ['adam', series([0.1, 0.99], 9, 2)],
    ],
  ];

  it.each(cases.map((c, i) => [i, c] as const))('case %i', (_i, runs) => {
    const target = 0.85;
    const rows = summarize({
      runs: runs.map(([id]) => meta(id)),
      series: (i) => runs[i][1],
      target,
      totalSteps: 100,
      errors: runs.map(() => null),
    });
    expect(firstOrderBaseline(rows)).toEqual(firstOrderBaseline(runs.map(([id, s]) => runResult(id, s, target))));
    rows.forEach((r, i) => {
      const engine = runResult(runs[i][0], runs[i][1], target);
      expect([r.stepsToTarget, r.timeToTargetMs]).toEqual([engine.stepsToTarget, engine.timeToTargetMs]);
    });
  });
});

describe('summarizeLabJson (results restored after a reload)', () => {
  it('reads the evaluated points from the histories and agrees with the runner’s steps to target', () => {
    const history = (val: (number | null)[], ms: number) => ({
      step: val.map((_, i) => i + 1),
      trainLoss: val.map((_, i) => 1 / (i + 1)),
      valMetric: val,
      timeMs: val.map((_, i) => (i + 1) * ms),
    });
    const runs = [
      { optimizer: 'adam' as const, h: history([null, 0.5, null, 0.9], 10) },
      { optimizer: 'kfac-reduce' as const, h: history([null, 0.88, null, 0.95], 20), error: 'stopped' },
    ];
    const doc: LabJson = {
      config: validateConfigOrThrow({ ...presetConfig('mlp-spirals'), steps: 4, target: { metric: 'valAccuracy', value: 0.85 } }),
      device: { backend: 'cpu', summary: 'CPU', fallbackReason: null },
      parameterCount: 1,
      runs: runs.map((r) => {
        const reached = reachTarget(r.h, 0.85);
        return {
          optimizer: r.optimizer,
          label: r.optimizer,
          hyper: {},
          history: r.h,
          stepsToTarget: reached?.steps ?? null,
          timeToTargetMs: reached?.timeMs ?? null,
          phaseMs: {},
          stepsCompleted: 4,
          error: r.error ?? null,
        };
      }),
    };
    expect(seriesOfHistory(runs[0].h)).toEqual({
      step: [1, 2, 3, 4],
      trainLoss: [1, 0.5, 1 / 3, 0.25],
      timeMs: [10, 20, 30, 40],
      valStep: [2, 4],
      valMetric: [0.5, 0.9],
      valTimeMs: [20, 40],
    });
    const rows = summarizeLabJson(doc);
    expect(rows.map((r) => [r.stepsToTarget, r.timeToTargetMs])).toEqual(doc.runs.map((r) => [r.stepsToTarget, r.timeToTargetMs]));
    expect(rows[1].stepsRatio).toBeCloseTo(2 / 4, 12);
    expect(rows[1].error).toBe('stopped');
    expect(rows[0].totalSteps).toBe(4);
    expect(rows[0].finalVal).toBe(0.9);
  });
});

describe('fastestToTarget', () => {
  it('marks the fewest steps and the shortest time, ties included, none when nobody reached', () => {
    const row = (stepsToTarget: number | null, timeToTargetMs: number | null) =>
      ({ stepsToTarget, timeToTargetMs }) as Parameters<typeof fastestToTarget>[0][number];
    expect(fastestToTarget([row(10, 500), row(5, 900), row(5, 400), row(null, null)])).toEqual({ steps: [1, 2], time: [2] });
    expect(fastestToTarget([row(null, null)])).toEqual({ steps: [], time: [] });
    expect(fastestToTarget([])).toEqual({ steps: [], time: [] });
  });
});

describe('results formatting', () => {
  it('writes units and a dash for missing values', () => {
    expect(formatSeconds(412)).toBe('0.412 s');
    expect(formatSeconds(12_345)).toBe('12.3 s');
    expect(formatSeconds(245_000)).toBe('245 s');
    expect(formatSeconds(null)).toBe('—');
    expect(formatRatio(0.625)).toBe('0.63×');
    expect(formatRatio(null)).toBe('—');
    expect(formatPercent(0.914)).toBe('91.4 %');
    expect(formatPercent(null)).toBe('—');
    expect(formatStepsPerSecond(3.456)).toBe('3.46/s');
    expect(formatStepsPerSecond(234.5)).toBe('235/s');
    expect(formatLoss(0.123456)).toBe('0.123');
    expect(formatLoss(2.5e-5)).toBe('2.50e-5');
    expect(formatLoss(NaN)).toBe('NaN');
    expect(formatLoss(Infinity)).toBe('∞');
    expect(formatLoss(null)).toBe('—');
  });
});
