// `npm run factors -- case.json`: the case format (defaults and messages that name the bad field),
// the §6 oracles through the JSON path on both backends, and one real process run each for a
// valid and an invalid case.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatCaseFactors } from '../../src/cli/factors-case.ts';
import { CaseError, computeCaseFactors, parseFactorsCase, type FactorsCase } from '../../src/engine/tools/case.ts';
import type { StackLayerSpec } from '../../src/engine/nn/models/layer-stack.ts';
import { Rng } from '../../src/engine/random.ts';
import { useBackends } from '../helpers/backends.ts';
import { randomCase, smallCase } from '../tools/cases.ts';
import { exactBlocks, flat, kfacError, nested, randomStack } from './oracle-helpers.ts';

const b = useBackends();

function parseError(mutate: (c: Record<string, unknown>) => void): CaseError {
  const c = smallCase();
  mutate(c);
  try {
    parseFactorsCase(c);
  } catch (e) {
    if (e instanceof CaseError) return e;
    throw e;
  }
  throw new Error('the case was accepted');
}

describe('factors case: parsing and validation', () => {
  it('accepts a valid case and fills in the documented defaults', () => {
    const c = parseFactorsCase(smallCase());
    expect(c).toMatchObject({
      setting: 'expand',
      loss: 'mse',
      reduction: 'mean',
      fisher: 'type-2',
      mcSamples: 1,
      seed: 0,
      approx: 'expand',
      bias: 'folded',
      backend: 'cpu',
      precision: 'float64',
    });
    expect(c.inputs.shape).toEqual([2, 3, 2]);
    expect(c.targets.shape).toEqual([2, 3, 2]);
    expect(c.layers.map((l) => l.type)).toEqual(['linear', 'tanh', 'linear']);
    expect(
      parseFactorsCase({
        ...smallCase(),
        setting: 'reduce',
        targets: [
          [0, 1],
          [1, 0],
        ],
      }).approx,
    ).toBe('reduce');
    expect(parseFactorsCase({ ...smallCase(), backend: 'webgpu' }).precision).toBe('float32');
    const ce = parseFactorsCase({
      ...smallCase(),
      loss: 'ce',
      targets: [
        [0, 1, 1],
        [1, 0, 0],
      ],
    });
    expect(ce.targets).toEqual({ values: [0, 1, 1, 1, 0, 0], shape: [2, 3] });
  });

  const invalid: [string, (c: Record<string, unknown>) => void, RegExp][] = [
    [
      'a matrix with the wrong column count',
      (c) =>
        ((c.layers as StackLayerSpec[])[2] = {
          type: 'linear',
          weight: [
            [1, 2],
            [3, 4],
          ],
        }),
      /^layers\[2\]\.weight: expected a 2×3 matrix \(rows of equal length\), got a 2×2 array$/,
    ],
    [
      'ragged rows',
      (c) => ((c.layers as { weight: unknown }[])[0].weight = [[1, 2], [3]]),
      /^layers\[0\]\.weight: expected a matrix \[dOut\]\[dIn\] \(rows of equal length\), got rows of lengths \[2, 1\]$/,
    ],
    [
      'a non-number weight',
      (c) =>
        ((c.layers as { weight: unknown }[])[0].weight = [
          [1, 'x'],
          [3, 4],
          [5, 6],
        ]),
      /^layers\[0\]\.weight\[0\]\[1\]: expected a finite number, got "x"$/,
    ],
    [
      'a bias of the wrong length',
      (c) => ((c.layers as { bias: unknown }[])[0].bias = [1, 2]),
      /^layers\[0\]\.bias: expected 3 numbers \(one per output\), got an array of 2$/,
    ],
    [
      'an unknown layer type',
      (c) => ((c.layers as unknown[])[1] = { type: 'gelu' }),
      /^layers\[1\]\.type: expected "linear", "tanh" or "relu", got "gelu"$/,
    ],
    [
      'a field on an activation',
      (c) => ((c.layers as unknown[])[1] = { type: 'tanh', weight: [[1]] }),
      /^layers\[1\]\.weight: unknown field for a tanh layer/,
    ],
    ['no linear layer', (c) => (c.layers = [{ type: 'relu' }]), /^layers: expected at least one layer of type "linear"$/],
    ['empty layers', (c) => (c.layers = []), /^layers: expected a non-empty array of layers, got an empty array$/],
    [
      'inputs of the wrong width',
      (c) => (c.inputs = [[[1, 2, 3]]]),
      /^inputs: expected an N×R×2 array \[N\]\[R\]\[dIn\].*got a 1×1×3 array$/,
    ],
    [
      'ragged inputs',
      (c) =>
        (c.inputs = [
          [[1, 2]],
          [
            [1, 2],
            [3, 4],
          ],
        ]),
      /^inputs: expected an N×R×2 array/,
    ],
    [
      'a non-number input',
      (c) => ((c.inputs as unknown[][][])[1][2][0] = null),
      /^inputs\[1\]\[2\]\[0\]: expected a finite number, got null$/,
    ],
    [
      'MSE targets of the reduce shape in the expand setting',
      (c) =>
        (c.targets = [
          [0, 1],
          [1, 0],
        ]),
      /^targets: expected 2×3×2 an array of numbers \(loss "mse", setting "expand"; N = 2, R = 3, C = 2\), got a 2×2 array$/,
    ],
    [
      'CE targets out of range',
      (c) =>
        Object.assign(c, {
          loss: 'ce',
          targets: [
            [0, 1, 2],
            [1, 0, 0],
          ],
        }),
      /^targets: class index 2 is outside \[0, 2\)/,
    ],
    [
      'CE targets that are not integers',
      (c) =>
        Object.assign(c, {
          loss: 'ce',
          targets: [
            [0, 1, 0.5],
            [1, 0, 0],
          ],
        }),
      /^targets\[0\]\[2\]: expected an integer class index, got 0.5$/,
    ],
    ['a missing setting', (c) => delete c.setting, /^setting: required field is missing$/],
    ['a bad setting', (c) => (c.setting = 'both'), /^setting: expected "expand" or "reduce", got "both"$/],
    ['a bad loss', (c) => (c.loss = 'nll'), /^loss: expected "mse" or "ce", got "nll"$/],
    ['a bad reduction', (c) => (c.reduction = 'none'), /^reduction: expected "sum" or "mean", got "none"$/],
    ['a bad fisher', (c) => (c.fisher = 'type-1'), /^fisher: expected "type-2", "mc" or "empirical", got "type-1"$/],
    ['a bad approx', (c) => (c.approx = 'full'), /^approx: expected "expand" or "reduce", got "full"$/],
    ['a bad bias mode', (c) => (c.bias = true), /^bias: expected "folded" or "separate", got true$/],
    ['a bad backend', (c) => (c.backend = 'gpu'), /^backend: expected "cpu", "wasm" or "webgpu", got "gpu"$/],
    [
      'float64 on WebGPU',
      (c) => Object.assign(c, { backend: 'webgpu', precision: 'float64' }),
      /^precision: "float64" requires backend "cpu"/,
    ],
    ['mcSamples 0', (c) => (c.mcSamples = 0), /^mcSamples: expected an integer in \[1, 1000000\], got 0$/],
    ['a fractional seed', (c) => (c.seed = 1.5), /^seed: expected an integer in \[0, 4294967295\], got 1.5$/],
    ['an unknown field', (c) => (c.fischer = 'mc'), /^fischer: unknown field \(known fields: layers, setting, /],
  ];
  for (const [what, mutate, message] of invalid) {
    it(`rejects ${what}`, () => {
      expect(parseError(mutate).message).toMatch(message);
    });
  }
  it('rejects a case that is not an object', () => {
    expect(() => parseFactorsCase([1, 2])).toThrow(/^case: expected a JSON object, got an array of 2$/);
  });
});

/** A JSON case from a random deep linear network (the §6 oracle setup), MSE, with bias. */
function linearCase(seed: number, setting: 'expand' | 'reduce', N: number, R: number, widths: number[], extra: Record<string, unknown>) {
  return { ...randomCase(seed, { widths, N, R, setting, loss: 'mse' }), ...extra };
}

function exactFor(c: FactorsCase) {
  return exactBlocks(b.cpu, c, c.bias);
}

describe('factors case: the §6 oracles through the JSON path', () => {
  for (const setting of ['expand', 'reduce'] as const) {
    for (const bias of ['folded', 'separate'] as const) {
      for (const reduction of ['sum', 'mean'] as const) {
        it(`deep linear MSE, ${setting} setting, bias ${bias}, ${reduction}: the matched approximation is exact (CPU float64)`, async () => {
          const json = linearCase(41, setting, 4, 3, [3, 4, 2], { bias, reduction });
          const c = parseFactorsCase(JSON.parse(JSON.stringify(json)));
          const exact = exactFor(c);
          const out = await computeCaseFactors(c, b.cpu);
          expect(out.layers.map((l) => l.index)).toEqual([0, 1]);
          out.layers.forEach((l, i) => {
            expect(kfacError(flat(l.A), flat(l.G), exact[i].block), `layer ${l.index}`).toBeLessThan(1e-9);
            if (bias === 'folded') expect(l.A[l.A.length - 1][l.A.length - 1]).toBeCloseTo(1, 14);
          });
          const other = await computeCaseFactors({ ...c, approx: setting === 'expand' ? 'reduce' : 'expand' }, b.cpu);
          other.layers.forEach((l, i) => expect(kfacError(flat(l.A), flat(l.G), exact[i].block)).toBeGreaterThan(1e-2));
        });
      }
    }
  }

  it('on WebGPU in float32 the factors match the exact GGN to < 1e-3', async () => {
    for (const setting of ['expand', 'reduce'] as const) {
      const json = linearCase(42, setting, 2, 5, [3, 4, 2], { backend: 'webgpu', reduction: 'mean' });
      const c = parseFactorsCase(json);
      expect(c.precision).toBe('float32');
      const exact = exactBlocks(b.cpu, c, c.bias);
      const out = await computeCaseFactors(c, b.gpu);
      out.layers.forEach((l, i) =>
        expect(kfacError(flat(l.A), flat(l.G), exact[i].block), `${setting} layer ${l.index}`).toBeLessThan(1e-3),
      );
    }
  });

  it('sanity values: one layer, MSE sum, expand: G = 2NR I and A[last, last] = 1', async () => {
    const c = parseFactorsCase(linearCase(43, 'expand', 4, 3, [3, 2], { reduction: 'sum' }));
    const [l] = (await computeCaseFactors(c, b.cpu)).layers;
    expect(l.G).toEqual([
      [expect.closeTo(24, 12), 0],
      [0, expect.closeTo(24, 12)],
    ]);
    expect(l.A[3][3]).toBeCloseTo(1, 14);
  });

  it('cross-entropy, one example, one layer, type-2: exact; a nonlinearity between layers still gives symmetric factors', async () => {
    const rng = new Rng(44);
    const json = {
      layers: randomStack(rng, [3, 4], true),
      setting: 'reduce',
      inputs: nested(rng, [1, 3, 3]),
      targets: [2],
      loss: 'ce',
    };
    const c = parseFactorsCase(json);
    const [l] = (await computeCaseFactors(c, b.cpu)).layers;
    expect(kfacError(flat(l.A), flat(l.G), exactFor(c)[0].block)).toBeLessThan(1e-9);
    const deep = parseFactorsCase({ ...json, layers: randomStack(rng, [3, 5, 4], true, 'relu'), fisher: 'mc', mcSamples: 3, seed: 9 });
    const out = await computeCaseFactors(deep, b.cpu);
    expect(out.layers.map((x) => x.index)).toEqual([0, 2]);
    for (const x of out.layers) for (const m of [x.A, x.G]) m.forEach((row, i) => row.forEach((v, j) => expect(v).toBe(m[j][i])));
  });

  it('formats one matrix row per line as valid JSON', async () => {
    const out = await computeCaseFactors(parseFactorsCase(smallCase()), b.cpu);
    const text = formatCaseFactors(out);
    expect(JSON.parse(text)).toEqual(out);
    expect(text.split('\n').length).toBeGreaterThan(2 * (3 + 4 + 4 + 2));
  });
});

describe('npm run factors (a real process)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kfac-factors-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const run = (file: string) => spawnSync('npm', ['run', 'factors', '--', file], { cwd: process.cwd(), encoding: 'utf8', timeout: 60_000 });

  it('prints the factors as JSON on stdout and exits 0', async () => {
    const file = join(dir, 'case.json');
    writeFileSync(file, JSON.stringify(smallCase()));
    const result = run(file);
    expect(result.status, result.stderr).toBe(0);
    // npm echoes the script before the command's own output: the JSON starts at the first line "{".
    const jsonStart = result.stdout.search(/^\{/m);
    expect(jsonStart).toBeGreaterThanOrEqual(0);
    const printed = JSON.parse(result.stdout.slice(jsonStart));
    expect(printed).toEqual(await computeCaseFactors(parseFactorsCase(smallCase()), b.cpu));
  });

  it('exits non-zero on an invalid case and names the field on stderr', () => {
    const file = join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify({ ...smallCase(), backend: 'gpu' }));
    const result = run(file);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('backend: expected "cpu", "wasm" or "webgpu", got "gpu"');
    expect(result.stdout).not.toMatch(/^\{/m);
  });
});
