// The two marglik commands: `npm run -s curvature -- marglik case.json` (the registry tool, fields of
// docs/curvature-tools.md §2) and `npm run -s marglik -- --task … --approx …` (online marglik
// training on a task), each on a good case and on bad input (exit 2, the message names the field or
// flag). Real processes for the outcomes a user sees; the argument parser in-process for the rest.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseMarglikArgs } from '../../src/cli/marglik.ts';
import { computeMarglik, parseMarglikCase } from '../../src/engine/tools/marglik/marglik.ts';
import { CpuBackend } from '../../src/engine/backend/cpu/cpu-backend.ts';
import { smallCase } from '../tools/cases.ts';

const npm = (...args: string[]) => spawnSync('npm', ['run', '-s', ...args], { cwd: process.cwd(), encoding: 'utf8', timeout: 120_000 });

describe('npm run curvature -- marglik (a real process)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kfac-marglik-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const caseFile = (name: string, content: unknown) => {
    const file = join(dir, name);
    writeFileSync(file, JSON.stringify(content));
    return file;
  };

  it('prints log q and its parts, equal to the engine function', async () => {
    const c = { ...smallCase(), prior: { precision: [0.5, 2] }, sigma: 0.8 };
    const result = npm('curvature', '--', 'marglik', caseFile('good.json', c));
    expect(result.status, result.stderr).toBe(0);
    const out = JSON.parse(result.stdout);
    const cpu = new CpuBackend();
    try {
      const expected = await computeMarglik(parseMarglikCase(c), cpu);
      expect(out.logMarglik).toBeCloseTo(expected.logMarglik, 10);
      expect(out.layers.map((l: { index: number }) => l.index)).toEqual([0, 2]);
      expect(out).toMatchObject({ hessian: 'kron', likelihood: 'regression', precision: [0.5, 2], sigma: 0.8 });
      for (const key of ['logLik', 'logDetPosterior', 'logDetPrior', 'scatter']) expect(Number.isFinite(out[key]), key).toBe(true);
    } finally {
      cpu.destroy();
    }
  }, 60_000);

  it('a bad field exits 2 and names it', () => {
    const result = npm('curvature', '--', 'marglik', caseFile('bad.json', { ...smallCase(), prior: { precision: -1 } }));
    expect(result.status, result.stderr).toBe(2);
    expect(result.stderr).toMatch(/prior\.precision: expected a prior precision > 0/);
  }, 60_000);

  it('the case parser names every bad field', () => {
    const cases: [string, Record<string, unknown>, RegExp][] = [
      ['wrong count', { ...smallCase(), prior: { precision: [1, 2, 3] } }, /prior\.precision: expected one number or 2/],
      ['unknown prior field', { ...smallCase(), prior: { scale: 1 } }, /prior\.scale: unknown field/],
      [
        'sigma with CE',
        {
          ...smallCase(),
          loss: 'ce',
          targets: [
            [0, 1, 1],
            [1, 0, 0],
          ],
          sigma: 2,
        },
        /sigma: only for loss "mse"/,
      ],
      ['sigma ≤ 0', { ...smallCase(), sigma: 0 }, /sigma: expected σ > 0/],
      ['full on wasm', { ...smallCase(), hessian: 'full', backend: 'wasm' }, /hessian: "full" needs backend "cpu"/],
      ['unknown hessian', { ...smallCase(), hessian: 'diag' }, /hessian: expected "kron" or "full"/],
    ];
    for (const [name, c, message] of cases) expect(() => parseMarglikCase(c), name).toThrow(message);
  });
});

describe('npm run marglik', () => {
  it('trains a small task and prints the result as JSON (exit 0)', () => {
    const result = npm(
      'marglik',
      '--',
      ...[
        '--task',
        'mlp-spirals',
        '--approx',
        'reduce',
        '--epochs',
        '2',
        '--train-examples',
        '128',
        '--test-examples',
        '64',
        '--backend',
        'cpu',
        '--json',
      ],
    );
    expect(result.status, result.stderr).toBe(0);
    const out = JSON.parse(result.stdout);
    expect(out).toMatchObject({ task: 'mlp-spirals', approx: 'reduce', trainExamples: 128 });
    expect(out.fits.map((f: { epoch: number }) => f.epoch)).toEqual([1, 2]);
    expect(out.precision).toHaveLength(out.layers.length);
    expect(out.test.map.examples).toBe(64);
    expect(out.test.laplace.nll).toBeGreaterThan(0);
    expect(result.stderr).toMatch(/epoch 2: log marglik/);
  }, 120_000);

  it('a bad flag exits 2 naming it', () => {
    const result = npm('marglik', '--', '--task', 'cnn-mnist', '--approx', 'both');
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/--approx: expected expand or reduce/);
  }, 60_000);

  it('the parser names every bad argument', () => {
    const bad: [string[], RegExp][] = [
      [['--approx', 'expand'], /--task is required/],
      [['--task', 'nope', '--approx', 'expand'], /--task: unknown task "nope"/],
      [['--task', 'cnn-mnist', '--approx', 'expand', '--epochs', '0'], /--epochs: expected a whole number ≥ 1/],
      [['--task', 'cnn-mnist', '--approx', 'expand', '--frequency', '1.5'], /--frequency: expected a whole number ≥ 1/],
      [['--task', 'cnn-mnist', '--approx', 'expand', '--backend', 'tpu'], /--backend: expected wasm, cpu or webgpu/],
      [['--task', 'cnn-mnist', '--approx', 'expand', '--fisher', 'empirical'], /--fisher: expected mc or type-2/],
      [['--task', 'cnn-mnist', '--approx', 'expand', '--bogus'], /Unknown option '--bogus'/],
    ];
    for (const [args, message] of bad) expect(() => parseMarglikArgs(args), args.join(' ')).toThrow(message);
    expect(parseMarglikArgs(['--task', 'vit-mnist', '--approx', 'reduce', '--hypersteps', '20'])).toMatchObject({
      task: 'vit-mnist',
      approx: 'reduce',
      hyperSteps: 20,
      epochs: 10,
      frequency: 1,
      backend: 'wasm',
      json: false,
    });
  });
});
