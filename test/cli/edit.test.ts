// The edit commands as real processes: `npm run -s curvature -- edit case.json` (docs/curvature-tools.md
// §0, §4: its stdout equals the engine function's output; bad fields exit 2 naming the field) and
// `npm run -s edit -- --experiment …` (a tiny run of the modular experiment; bad flags exit 2 naming
// the flag).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findTool } from '../../src/engine/tools/registry.ts';
import { smallCase } from '../tools/cases.ts';

const npm = (script: string, args: string[]) =>
  spawnSync('npm', ['run', '-s', script, '--', ...args], { cwd: process.cwd(), encoding: 'utf8', timeout: 120_000 });

describe('npm run curvature -- edit', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kfac-edit-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const caseFile = (name: string, content: unknown) => {
    const file = join(dir, name);
    writeFileSync(file, JSON.stringify(content));
    return file;
  };

  it('prints the edited weights, keptPairs, totalPairs and keptMass per layer (= the engine function) and exits 0', async () => {
    const json = { ...smallCase(), editLayers: [0], keepMass: 0.6, variant: 'pairwise' };
    const result = npm('curvature', ['edit', caseFile('good.json', json)]);
    expect(result.status, result.stderr).toBe(0);
    const printed = JSON.parse(result.stdout);
    expect(printed).toEqual(await findTool('edit')!.run(json));
    expect(printed.layers.map((l: { index: number; edited: boolean }) => [l.index, l.edited])).toEqual([
      [0, true],
      [2, false],
    ]);
    const first = printed.layers[0];
    expect(first.totalPairs).toBe(6);
    expect(first.keptPairs).toBeLessThan(6);
    expect(first.keptMass).toBeGreaterThanOrEqual(0.6);
  });

  it('exits 2 on a bad edit field, naming it', () => {
    const result = npm('curvature', ['edit', caseFile('bad.json', { ...smallCase(), keepMass: 0 })]);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/bad\.json: keepMass: expected a number in \(0, 1\], got 0/);
    expect(result.stdout).toBe('');
  });
});

describe('npm run edit', () => {
  it('runs a tiny modular-exceptions sweep and prints JSON rows; ρ = 1 is the unedited model; SVD matches the pairwise rank', () => {
    const result = npm('edit', ['--experiment', 'modular-exceptions', '--steps', '30', '--rho', '0.999,1', '--layers', '5', '--json']);
    expect(result.status, result.stderr).toBe(0);
    const out = JSON.parse(result.stdout) as {
      experiment: string;
      baseline: Record<string, number>;
      layers: { name: string; kappa: number[]; energyShare: number[] }[];
      rows: { method: string; rho: number; keptRank: number; memorisedAccuracy: number; testAccuracy: number }[];
    };
    expect(out.experiment).toBe('modular-exceptions');
    expect(out.layers.map((l) => l.name)).toEqual(['blocks.0.fc2']);
    expect(out.layers[0].energyShare.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
    expect(out.rows.map((r) => `${r.method}@${r.rho}`)).toEqual([
      'kfac@0.999',
      'rectangle@0.999',
      'svd@0.999',
      'kfac@1',
      'rectangle@1',
      'svd@1',
    ]);
    for (const r of out.rows.filter((x) => x.rho === 1)) {
      expect(r.memorisedAccuracy).toBe(out.baseline.memorisedAccuracy);
      expect(r.testAccuracy).toBe(out.baseline.testAccuracy);
    }
    const at = (m: string) => out.rows.find((r) => r.method === m && r.rho === 0.999)!;
    expect(at('svd').keptRank).toBe(at('kfac').keptRank);
    expect(at('kfac').keptRank).toBeLessThanOrEqual(32);
  });

  const bad: [string, string[], RegExp][] = [
    [
      'an unknown experiment',
      ['--experiment', 'noisy-cifar'],
      /--experiment: expected noisy-mnist or modular-exceptions, got "noisy-cifar"/,
    ],
  ];
  it.each(bad)('exits 2 on %s, naming the flag', (_what, args, message) => {
    const result = npm('edit', args);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stdout).toBe('');
  });
});
