// The pruning commands (docs/curvature-tools.md §5): `npm run -s curvature -- prune case.json` and
// `npm run -s prune -- --task ...`, as real processes on a good input (stdout equals the engine
// function's output / a complete JSON result) and on bad input (exit 2, the message names the field
// or the flag); the argument parser directly for the rest.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CpuBackend } from '../../src/engine/backend/cpu/cpu-backend.ts';
import { computePrune, parsePruneCase } from '../../src/engine/tools/prune/prune-tool.ts';
import { DEFAULT_METHODS, DEFAULT_SPARSITIES, parsePruneArgs, PruneArgsError } from '../../src/cli/prune-args.ts';
import { smallCase } from '../tools/cases.ts';

const run = (script: string, ...args: string[]) =>
  spawnSync('npm', ['run', '-s', script, '--', ...args], { cwd: process.cwd(), encoding: 'utf8', timeout: 120_000 });

describe('npm run -s curvature -- prune (a real process)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kfac-prune-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const caseFile = (name: string, content: unknown) => {
    const file = join(dir, name);
    writeFileSync(file, JSON.stringify(content));
    return file;
  };

  it('prints per layer scores, mask and weight, and the loss before and after, as the engine computes them', async () => {
    const json = { ...smallCase(), method: 'woodfisher', sparsity: 0.5, damping: 0.01, blockSize: 4, scope: 'global' };
    const result = run('curvature', 'prune', caseFile('good.json', json));
    expect(result.status, result.stderr).toBe(0);
    const printed = JSON.parse(result.stdout);
    const cpu = new CpuBackend();
    const expected = await computePrune(parsePruneCase(json), cpu);
    cpu.destroy();
    expect(printed).toEqual(JSON.parse(JSON.stringify(expected)));
    expect(printed.layers.map((l: { index: number }) => l.index)).toEqual([0, 2]);
    for (const l of printed.layers) for (const key of ['scores', 'mask', 'weight']) expect(l).toHaveProperty(key);
    expect(printed.removed).toBe(Math.floor(0.5 * (6 + 6)));
    expect(printed.lossAfter).not.toBe(printed.lossBefore);
  });

  it('exits 2 naming the field on a bad case', () => {
    const bad: [unknown, RegExp][] = [
      [{ ...smallCase(), method: 'woodfisher', sparsity: 1.5 }, /sparsity: expected a fraction in \[0, 1\]/],
      [{ ...smallCase(), method: 'obs', sparsity: 0.5 }, /method: expected "magnitude", .* or "ggn-obs"/],
      [{ ...smallCase(), method: 'woodfisher', sparsity: 0.5, damping: 0 }, /damping: expected a number > 0 for method "woodfisher"/],
      [{ ...smallCase(), method: 'ggn-obs', sparsity: 0.5, backend: 'wasm' }, /method: "ggn-obs" .* needs backend "cpu"/],
      [{ ...smallCase(), sparsity: 0.5 }, /method: required field is missing/],
    ];
    for (const [i, [json, message]] of bad.entries()) {
      // One process for the first; the engine's parser (what the command calls) for the rest.
      if (i === 0) {
        const result = run('curvature', 'prune', caseFile('bad.json', json));
        expect(result.status).toBe(2);
        expect(result.stderr).toMatch(message);
      } else expect(() => parsePruneCase(json)).toThrow(message);
    }
  });
});

describe('npm run -s prune', () => {
  it('prunes a trained model with every method asked for and prints the result as JSON', () => {
    const result = run(
      'prune',
      '--task',
      'mlp-spirals',
      '--methods',
      'magnitude,woodfisher,kfac-obs',
      '--sparsity',
      '0.3,0.6',
      '--train-steps',
      '30',
      '--examples',
      '64',
      '--finetune',
      '3',
      '--json',
    );
    expect(result.status, result.stderr).toBe(0);
    const out = JSON.parse(result.stdout);
    expect(out.task).toBe('mlp-spirals');
    expect(out.runs).toHaveLength(6);
    for (const r of out.runs) {
      expect(r.testAccuracy).toBeGreaterThanOrEqual(0);
      expect(r.finetuned.steps).toBe(3);
      const total = r.layers.reduce((s: number, l: { dOut: number; dIn: number }) => s + l.dOut * l.dIn, 0);
      const kept = r.layers.reduce((s: number, l: { kept: number }) => s + l.kept, 0);
      expect(total - kept).toBe(Math.floor(r.sparsity * total));
    }
    expect(out.model.kind).toBe('trained');
  });

  it('exits 2 with the flag named on bad arguments', () => {
    const result = run('prune', '--task', 'mlp-mnist', '--sparsity', '0.5,1.5');
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/--sparsity: expected fractions in \[0, 1\], got "1.5"/);
    expect(result.stderr).toMatch(/usage: npm run -s prune/);
  });

  it('parses flags with their defaults, and names the flag of every bad one', () => {
    const args = parsePruneArgs(['--task', 'cnn-mnist']);
    expect(args).toMatchObject({ kind: 'run', task: 'cnn-mnist', scope: 'global', finetune: 0, json: false, steps: 1 });
    if (args.kind !== 'run') throw new Error('expected a run');
    expect(args.methods).toEqual(DEFAULT_METHODS);
    expect(args.sparsities).toEqual(DEFAULT_SPARSITIES);
    const full = parsePruneArgs([
      '--task=mlp-mnist',
      '--scope',
      'layer',
      '--finetune',
      '20',
      '--damping',
      'woodfisher=1e-5,kfac-obs=0',
      '--json',
    ]);
    expect(full).toMatchObject({ scope: 'layer', finetune: 20, json: true, damping: { woodfisher: 1e-5, 'kfac-obs': 0 } });
    const bad: [string[], RegExp][] = [
      [[], /--task is required/],
      [['--task', 'gcn-node'], /--task: expected one of/],
      [['--task', 'mlp-mnist', '--methods', 'magnitude,ggn-obs'], /ggn-obs is for tiny models/],
      [['--task', 'mlp-mnist', '--methods', 'magnitude,magnitude'], /listed twice/],
      [['--task', 'mlp-mnist', '--scope', 'all'], /--scope: expected layer or global/],
      [['--task', 'mlp-mnist', '--finetune', '-1'], /--finetune: expected a whole number ≥ 0/],
      [['--task', 'mlp-mnist', '--damping', 'woodfisher=0'], /woodfisher needs λ > 0/],
      [['--task', 'mlp-mnist', '--frobnicate', '1'], /unknown flag --frobnicate/],
      [['--task', 'mlp-mnist', '--backend', 'tpu'], /--backend/],
    ];
    for (const [argv, message] of bad) {
      expect(() => parsePruneArgs(argv), argv.join(' ')).toThrow(PruneArgsError);
      expect(() => parsePruneArgs(argv), argv.join(' ')).toThrow(message);
    }
  });
});
