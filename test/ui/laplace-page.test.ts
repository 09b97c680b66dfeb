// The Laplace page's pure parts: its URL settings (round trip, bad values named and replaced by the
// defaults), the worker job's config check, and the figure builders' data.
import { describe, expect, it } from 'vitest';
import { parseMarglikConfig } from '../../src/worker/jobs/marglik-job.ts';
import { JobConfigError } from '../../src/worker/jobs/job.ts';
import { DEFAULT_LAPLACE_SETTINGS, laplaceSettingsFromQuery, laplaceSettingsToQuery } from '../../src/ui/pages/laplace/laplace-store.ts';
import {
  fitsTable,
  fitTimeSummary,
  marglikFigure,
  precisionFigure,
  reliabilityFigure,
  type FitPoint,
} from '../../src/ui/pages/laplace/laplace-figures.ts';

describe('Laplace page URL settings', () => {
  it('round-trips every setting', () => {
    const settings = {
      ...DEFAULT_LAPLACE_SETTINGS,
      task: 'vit-mnist' as const,
      epochs: 7,
      trainExamples: 2048,
      hyperSteps: 20,
      grid: false,
    };
    expect(laplaceSettingsFromQuery(laplaceSettingsToQuery(settings))).toEqual({ settings, errors: [] });
  });

  it('names bad values and keeps the defaults for them', () => {
    const { settings, errors } = laplaceSettingsFromQuery('task=gcn-node&epochs=0&train=99999&grid=yes&k=3');
    expect(settings).toEqual({ ...DEFAULT_LAPLACE_SETTINGS, hyperSteps: 3 });
    expect(errors).toHaveLength(4);
    expect(errors[0]).toMatch(/^task: "gcn-node" is not one of mlp-spirals, mlp-mnist, cnn-mnist, vit-mnist$/);
    expect(errors.join('\n')).toMatch(/epochs: expected a whole number from 1 to 200/);
    expect(errors.join('\n')).toMatch(/grid: expected 0 or 1/);
  });
});

describe('marglik job config', () => {
  it('fills the defaults and refuses bad fields by name', () => {
    expect(parseMarglikConfig({})).toMatchObject({ task: 'cnn-mnist', epochs: 5, frequency: 1, hyperSteps: 10, grid: false });
    try {
      parseMarglikConfig({ task: 'gcn-node', epochs: 0, grid: 'yes', extra: 1 });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(JobConfigError);
      const text = (e as JobConfigError).messages.join('\n');
      for (const field of ['marglik.extra', 'marglik.task', 'marglik.epochs', 'marglik.grid']) expect(text).toContain(field);
    }
  });
});

describe('Laplace figures', () => {
  const fits: Record<'expand' | 'reduce', FitPoint[]> = {
    expand: [
      { epoch: 1, logMarglik: -100, fitMs: 40, precision: [1, 2] },
      { epoch: 2, logMarglik: -80, fitMs: 60, precision: [1.5, 3] },
    ],
    reduce: [{ epoch: 1, logMarglik: -90, fitMs: 20, precision: [0.5, 4] }],
  };

  it('draws one trace per flavour (log marglik) and per flavour and layer (δ), from the fits', () => {
    const m = marglikFigure(fits);
    expect(m.data.map((d) => (d as { y: number[] }).y)).toEqual([[-100, -80], [-90]]);
    const p = precisionFigure(fits, ['conv1', 'fc']);
    expect(p.data).toHaveLength(4);
    expect((p.data[1] as { y: number[]; name: string }).y).toEqual([2, 3]);
    expect((p.data[3] as { name: string }).name).toBe('fc (reduce)');
    expect(fitTimeSummary(fits)).toBe('Mean time per Laplace fit: K-FAC-expand 50 ms, K-FAC-reduce 20 ms (reduce / expand 0.40).');
    expect(fitsTable(fits, ['conv1', 'fc'], 'precision').rows).toEqual([
      ['expand, epoch 1', '1', '2'],
      ['expand, epoch 2', '1.5', '3'],
      ['reduce, epoch 1', '0.5', '4'],
    ]);
  });

  it('the reliability diagram skips empty bins', () => {
    const bins = [
      { lo: 0, hi: 0.5, count: 0, confidence: 0, accuracy: 0 },
      { lo: 0.5, hi: 1, count: 4, confidence: 0.8, accuracy: 0.75 },
    ];
    const f = reliabilityFigure([{ label: 'MAP', bins }]);
    expect((f.data[1] as { x: number[]; y: number[] }).x).toEqual([0.8]);
    expect((f.data[1] as { x: number[]; y: number[] }).y).toEqual([0.75]);
  });
});
