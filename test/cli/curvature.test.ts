// `npm run -s curvature -- <tool> case.json`: the JSON layout, and real process runs for help, a
// good case (its stdout equals the engine function's output) and every kind of bad input (exit 2
// with a message that names the field, the tool or the file).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatToolJson } from '../../src/cli/curvature-json.ts';
import { CASE_FIELDS } from '../../src/engine/tools/case.ts';
import { findTool, TOOLS } from '../../src/engine/tools/registry.ts';
import { randomCase, smallCase } from '../tools/cases.ts';
import { relativeError } from '../helpers/compare.ts';

describe('formatToolJson', () => {
  it('prints valid JSON with numeric arrays on one line', () => {
    const value = {
      layers: [
        {
          index: 0,
          A: [
            [1, 2.5],
            [3, -4],
          ],
          eig: { values: [2, 1], ok: true },
        },
      ],
      name: 'x',
      nan: [Number.NaN],
    };
    const text = formatToolJson(value);
    expect(JSON.parse(text)).toEqual({ ...value, nan: [null] });
    expect(text).toContain('[1,2.5]');
    expect(text).toContain('[3,-4]');
    expect(text.split('\n').length).toBeGreaterThan(8);
    expect(formatToolJson({ a: [], b: {}, c: Float64Array.of(1, 2) })).toBe('{\n  "a": [],\n  "b": {},\n  "c": [1,2]\n}');
  });
});

describe('npm run curvature (a real process)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kfac-curvature-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const run = (...args: string[]) =>
    spawnSync('npm', ['run', '-s', 'curvature', '--', ...args], { cwd: process.cwd(), encoding: 'utf8', timeout: 60_000 });
  const caseFile = (name: string, content: string) => {
    const file = join(dir, name);
    writeFileSync(file, content);
    return file;
  };

  it('--help lists every tool and every case field and exits 0', () => {
    const result = run('--help');
    expect(result.status, result.stderr).toBe(0);
    for (const tool of TOOLS) expect(result.stdout).toContain(`  ${tool.name}`);
    for (const field of Object.keys(CASE_FIELDS)) expect(result.stdout).toMatch(new RegExp(`^  ${field} `, 'm'));
  });

  it('<tool> --help shows the tool and the case fields', () => {
    const result = run('eigen', '--help');
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toContain(findTool('eigen')!.about);
    expect(result.stdout).toMatch(/^ {2}layers /m);
  });

  it('eigen: prints the tool output as JSON on stdout (-s: nothing else) and exits 0', async () => {
    const result = run('eigen', caseFile('good.json', JSON.stringify(smallCase())));
    expect(result.status, result.stderr).toBe(0);
    const printed = JSON.parse(result.stdout);
    expect(printed).toEqual(await findTool('eigen')!.run(smallCase()));
    expect(printed.layers.map((l: { index: number }) => l.index)).toEqual([0, 2]);
  });

  it('eigen with backend "wasm" agrees with the cpu (float64) result to float32 tolerance', () => {
    const json = randomCase(7, { widths: [3, 5, 2], N: 4, R: 3, setting: 'expand', loss: 'ce', activation: 'tanh' });
    const eigenOf = (backend: string) => {
      const result = run('eigen', caseFile(`${backend}.json`, JSON.stringify({ ...json, backend })));
      expect(result.status, result.stderr).toBe(0);
      return JSON.parse(result.stdout) as {
        layers: {
          index: number;
          A: number[][];
          G: number[][];
          eigA: { values: number[] };
          eigG: { values: number[] };
          ekfac: number[][];
        }[];
      };
    };
    const cpu = eigenOf('cpu');
    const wasm = eigenOf('wasm');
    expect(wasm.layers.map((l) => l.index)).toEqual(cpu.layers.map((l) => l.index));
    wasm.layers.forEach((l, i) => {
      const ref = cpu.layers[i];
      expect(relativeError(l.A.flat(), ref.A.flat()), `A of layer ${l.index}`).toBeLessThan(1e-5);
      expect(relativeError(l.G.flat(), ref.G.flat()), `G of layer ${l.index}`).toBeLessThan(1e-5);
      expect(relativeError(l.eigA.values, ref.eigA.values), `eig A of layer ${l.index}`).toBeLessThan(1e-4);
      expect(relativeError(l.eigG.values, ref.eigG.values), `eig G of layer ${l.index}`).toBeLessThan(1e-4);
      expect(relativeError(l.ekfac.flat(), ref.ekfac.flat()), `EKFAC of layer ${l.index}`).toBeLessThan(1e-3);
    });
  });

  it('refuses precision "float64" on backend "wasm", naming the field', () => {
    const result = run('eigen', caseFile('wasm64.json', JSON.stringify({ ...smallCase(), backend: 'wasm', precision: 'float64' })));
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/precision: "float64" requires backend "cpu"/);
  });

  it('reads the case from stdin with "-"', () => {
    const result = spawnSync('npm', ['run', '-s', 'curvature', '--', 'eigen', '-'], {
      cwd: process.cwd(),
      encoding: 'utf8',
      timeout: 60_000,
      input: JSON.stringify(smallCase()),
    });
    expect(result.status, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout).layers).toHaveLength(2);
  });

  const bad: [string, () => string[], RegExp][] = [
    ['no arguments', () => [], /expected a tool and a case file/],
    ['an unknown tool', () => ['eigne', caseFile('a.json', '{}')], /unknown tool "eigne" \(tools: eigen/],
    ['a missing case file', () => ['eigen'], /expected one case file after the tool/],
    ['an unreadable file', () => ['eigen', join(dir, 'missing.json')], /cannot read .*missing\.json/],
    ['invalid JSON', () => ['eigen', caseFile('broken.json', '{"layers": [')], /broken\.json: not valid JSON/],
    [
      'a bad field',
      () => ['eigen', caseFile('bad-field.json', JSON.stringify({ ...smallCase(), fisher: 'type-1' }))],
      /bad-field\.json: fisher: expected "type-2", "mc" or "empirical", got "type-1"/,
    ],
    [
      'an unknown field',
      () => ['eigen', caseFile('unknown-field.json', JSON.stringify({ ...smallCase(), damping: 1 }))],
      /unknown-field\.json: damping: unknown field/,
    ],
  ];
  for (const [what, args, message] of bad) {
    it(`exits 2 on ${what}, with the reason on stderr and nothing on stdout`, () => {
      const result = run(...args());
      expect(result.status, result.stderr).toBe(2);
      expect(result.stderr).toMatch(message);
      expect(result.stdout).toBe('');
    });
  }
});
