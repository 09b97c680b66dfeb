// The worker's 'thermo' and 'ngd' jobs (src/worker/jobs/thermo-job.ts, ngd-job.ts): configs are
// checked field by field with messages naming the field; a tiny thermo run on wasm (spirals MLP,
// a few steps) returns the race, the error grid and the cost model; a tiny ngd run returns every
// method at every width.
import { describe, expect, it } from 'vitest';
import { JobConfigError } from '../../src/worker/jobs/job.ts';
import { ngdJob, parseNgdConfig } from '../../src/worker/jobs/ngd-job.ts';
import { parseThermoConfig, thermoJob } from '../../src/worker/jobs/thermo-job.ts';
import { keptAdvantage } from '../../src/engine/tools/thermo/thermo-lab.ts';
import { useBackends } from '../helpers/backends.ts';

const backends = useBackends();

function problems(parse: (v: unknown) => unknown, value: unknown): string {
  try {
    parse(value);
  } catch (e) {
    expect(e).toBeInstanceOf(JobConfigError);
    return (e as JobConfigError).messages.join('\n');
  }
  return '';
}

describe('thermo job', () => {
  it('fills defaults and refuses bad fields, naming them', () => {
    const c = parseThermoConfig({ task: 'mlp-spirals' });
    expect(c).toMatchObject({ steps: 300, seed: 1, device: [{ bits: 8, samples: 1000 }], widths: [8, 16, 32, 64, 128] });
    expect(problems(parseThermoConfig, { task: 'cnn-mnist' })).toMatch(/thermo\.task: expected one of mlp-mnist, mlp-spirals, vit-mnist/);
    expect(problems(parseThermoConfig, { device: [{ bits: 1, samples: 10 }] })).toMatch(/thermo\.device\[0\]\.bits: 1 bit/);
    expect(problems(parseThermoConfig, { device: [{ bits: 8, samples: 0 }] })).toMatch(/thermo\.device\[0\]\.samples/);
    expect(problems(parseThermoConfig, { task: 'vit-mnist', widths: [30] })).toMatch(/thermo\.widths\[0\]: .*multiple of its 4 heads/);
    expect(problems(parseThermoConfig, { errorBits: [] })).toMatch(/thermo\.errorBits/);
    expect(problems(parseThermoConfig, { sample: 3 })).toMatch(/thermo\.sample: unknown field/);
  });

  it('runs a tiny experiment: the race, the error grid on the K-FAC model’s factors, the cost model', async () => {
    const progress: string[] = [];
    const config = parseThermoConfig({
      task: 'mlp-spirals',
      steps: 6,
      evalEvery: 3,
      device: [{ bits: 8, samples: 50 }],
      errorSamples: [10, 1000],
      errorBits: [0],
      widths: [4, 8],
      widthSteps: 2,
    });
    const { result } = await thermoJob.run(config, {
      backend: backends.wasm,
      signal: new AbortController().signal,
      progress: (p) => progress.push(p.stage),
    });
    expect(result.race.runs.map((r) => r.label)).toEqual(['Adam', 'K-FAC (digital)', 'thermodynamic b=8, S=50']);
    for (const r of result.race.runs) {
      expect(r.error).toBeNull();
      expect(r.evalSteps).toEqual([3, 6]);
    }
    // Six damped factors of the 2-32-32-2 MLP (A and G of three layers); the error falls with S.
    expect(result.factors.map((f) => f.n)).toEqual([3, 32, 33, 32, 33, 2]);
    expect(result.errors.errors[0][1]).toBeLessThan(result.errors.errors[0][0]);
    expect(result.cost.map((w) => w.factors[0].n)).toEqual([3, 3]);
    expect(result.cost[1].factors[1]).toMatchObject({ factor: 'G', n: 8 });
    expect(progress.some((s) => s.startsWith('training'))).toBe(true);
  });

  it('kept share of K-FAC’s advantage: (Adam − run) / (Adam − K-FAC), undefined without an advantage', () => {
    expect(keptAdvantage(100, 30, 44)).toBeCloseTo(0.8, 12);
    expect(keptAdvantage(100, 30, null)).toBeNull();
    expect(keptAdvantage(30, 30, 20)).toBeNull();
  });
});

describe('ngd job', () => {
  it('fills defaults and refuses bad fields, naming them', () => {
    expect(parseNgdConfig({})).toMatchObject({
      dataset: 'mnist-4-9',
      n: 100,
      widths: [64, 256, 1024, 4096],
      eta: 0.5,
      methods: ['ngd', 'gd', 'kfac'],
    });
    expect(parseNgdConfig({ widths: [512, 8] }).widths).toEqual([8, 512]);
    expect(problems(parseNgdConfig, { widths: [8192] })).toMatch(/ngd\.widths\[0\]: expected a whole number from 1 to 4096/);
    expect(problems(parseNgdConfig, { eta: 1.5 })).toMatch(/ngd\.eta/);
    expect(problems(parseNgdConfig, { n: 500 })).toMatch(/ngd\.n/);
    expect(problems(parseNgdConfig, { methods: ['adam'] })).toMatch(/ngd\.methods\[0\]/);
  });

  it('runs every method at every width from the same weights', async () => {
    const config = parseNgdConfig({ dataset: 'points', n: 8, widths: [32, 256], steps: 3 });
    const { result } = await ngdJob.run(config, { backend: backends.wasm, signal: new AbortController().signal, progress: () => {} });
    const c = result.comparison;
    expect(c.widths.map((w) => w.width)).toEqual([32, 256]);
    for (const w of c.widths) {
      expect(w.runs.map((r) => r.method)).toEqual(['ngd', 'gd', 'kfac']);
      const starts = w.runs.map((r) => r.residuals[0]);
      for (const s of starts) expect(s).toBeCloseTo(starts[0], 5); // same initial weights
      for (const r of w.runs) expect(r.ratios).toHaveLength(3);
    }
  });
});
