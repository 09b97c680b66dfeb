// The Thermodynamic and NGD pages' URL settings (round trips, bad values named and replaced by the
// defaults) and figure builders (one trace per run or method, predicted lines, the 1 − η line),
// fed by a real tiny 'ngd' job and a hand-made thermo race.
import { describe, expect, it } from 'vitest';
import { CpuBackend } from '../../src/engine/backend/cpu/cpu-backend.ts';
import { ngdJob, parseNgdConfig } from '../../src/worker/jobs/ngd-job.ts';
import type { ThermoJobResult } from '../../src/worker/jobs/thermo-job.ts';
import {
  buildRatioFigure,
  buildResidualFigure,
  buildTrajectoryFigure,
  formatLambda0,
  widthTable,
} from '../../src/ui/pages/ngd/ngd-figures.ts';
import { DEFAULT_NGD_SETTINGS, ngdFromQuery, ngdToQuery } from '../../src/ui/pages/ngd/ngd-store.ts';
import {
  buildAccuracyFigure,
  buildErrorVsBitsFigure,
  buildErrorVsSamplesFigure,
  keptShare,
  raceTable,
} from '../../src/ui/pages/thermodynamic/thermo-figures.ts';
import { DEFAULT_THERMO_SETTINGS, parseDevice, thermoFromQuery, thermoToQuery } from '../../src/ui/pages/thermodynamic/thermo-store.ts';

describe('page settings in the URL', () => {
  it('thermo: round trip, device list parsing, bad values named', () => {
    const settings = {
      ...DEFAULT_THERMO_SETTINGS,
      task: 'vit-mnist' as const,
      steps: 40,
      device: [{ bits: 0, samples: 10 }],
      widths: [16, 32],
    };
    expect(thermoFromQuery(thermoToQuery(settings))).toEqual({ settings, errors: [] });
    expect(parseDevice('8x1000, 4x100')).toEqual([
      { bits: 8, samples: 1000 },
      { bits: 4, samples: 100 },
    ]);
    expect(parseDevice('1x100')).toBeNull();
    expect(parseDevice('8x0')).toBeNull();
    const bad = thermoFromQuery('task=cnn&steps=-1&device=<b>');
    expect(bad.settings).toEqual(DEFAULT_THERMO_SETTINGS);
    for (const field of ['task', 'steps', 'device']) expect(bad.errors.join('\n')).toMatch(new RegExp(`^${field}: `, 'm'));
  });
  it('ngd: round trip (widths sorted), bad values named', () => {
    const settings = { ...DEFAULT_NGD_SETTINGS, dataset: 'points' as const, n: 20, widths: [16, 4096], eta: 0.25 };
    expect(ngdFromQuery(ngdToQuery(settings)).settings).toEqual({ ...settings, widthIndex: 1 });
    expect(ngdFromQuery('widths=512,8').settings.widths).toEqual([8, 512]);
    const bad = ngdFromQuery('eta=2&widths=9000&n=1');
    expect(bad.settings).toMatchObject({ eta: 0.5, widths: DEFAULT_NGD_SETTINGS.widths, n: 100 });
    expect(bad.errors).toHaveLength(3);
  });
});

describe('figures', () => {
  it('ngd: residuals with predicted lines, trajectories with the target, ratio against width', async () => {
    const be = new CpuBackend();
    const { result } = await ngdJob.run(parseNgdConfig({ dataset: 'points', n: 6, widths: [8, 64], steps: 2 }), {
      backend: be,
      signal: new AbortController().signal,
      progress: () => {},
    });
    const c = result.comparison;
    const w = c.widths[1];
    const residual = buildResidualFigure(w);
    expect(residual.data).toHaveLength(5); // three methods, predicted lines for NGD and GD
    expect(buildTrajectoryFigure({ w, targets: c.pairTargets, pair: c.pair }).data).toHaveLength(4);
    const ratio = buildRatioFigure(c);
    expect(ratio.data.map((d) => (d as { x: number[] }).x)).toEqual([
      [8, 64],
      [8, 64],
      [8, 64],
    ]);
    expect(ratio.layout.shapes?.[0]).toMatchObject({ y0: 0.5 });
    expect(widthTable(c).rows).toHaveLength(2);
    expect(formatLambda0({ ...w, lambda0: -1e-17, lambdaMax: 3 })).toBe('≈ 0 (singular)');
    be.destroy();
  });

  it('thermo: accuracy with the target line, error curves per b and per S, the kept share', () => {
    const run = (optimizer: 'adam' | 'kfac' | 'kfac-thermodynamic', stepsToTarget: number | null, label: string) => ({
      optimizer,
      label,
      losses: [1, 0.5],
      evalSteps: [1, 2],
      accuracies: [0.5, 0.9],
      stepsToTarget,
      finalLoss: 0.5,
      ms: 10,
      error: null,
    });
    const race = {
      task: 'mlp-spirals',
      steps: 2,
      seed: 1,
      target: 0.85,
      batchSize: 32,
      hyper: { adam: { lr: 0.01 }, kfac: { lr: 0.1 } },
      runs: [run('adam', 100, 'Adam'), run('kfac', 30, 'K-FAC'), run('kfac-thermodynamic', 44, 'thermo')],
    } as ThermoJobResult['race'];
    expect(keptShare(race, 44)).toBeCloseTo(0.8, 12);
    expect(raceTable(race).rows[2][2]).toBe('80.0%');
    expect(buildAccuracyFigure(race).layout.shapes?.[0]).toMatchObject({ y0: 0.85 });
    const errors = {
      samples: [10, 100],
      bits: [8, 0],
      errors: [
        [1, 0.3],
        [0.9, 0.28],
      ],
      factors: [],
    };
    expect(buildErrorVsSamplesFigure(errors).data).toHaveLength(3); // two b and the 1/√S guide
    expect((buildErrorVsBitsFigure(errors).data[0] as { x: string[] }).x).toEqual(['8', 'exact']);
  });
});
