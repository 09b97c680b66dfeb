// `npm run -s influence`: the flags (each bad one named), and two real processes: a tiny run with the
// LDS whose JSON has every field, and a bad flag that exits 2 with the usage.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { InfluenceArgsError, parseInfluenceArgs } from '../../src/cli/influence-args.ts';
import type { InfluenceExperiment } from '../../src/engine/tools/influence/experiment.ts';

describe('influence arguments', () => {
  it('reads the flags, with defaults', () => {
    const a = parseInfluenceArgs(['--task', 'cnn-mnist', '--method', 'kfac,ekfac', '--lds', '--subsets', '60', '--json']);
    expect(a).toMatchObject({
      task: 'cnn-mnist',
      methods: ['kfac', 'ekfac'],
      lds: true,
      subsets: 60,
      seeds: 2,
      json: true,
      examples: 1000,
    });
    expect(parseInfluenceArgs(['--help'])).toBe('help');
  });

  it('names the bad flag', () => {
    const bad = (args: string[], message: RegExp) => expect(() => parseInfluenceArgs(args)).toThrow(message);
    bad(['--method', 'kfac'], /--task: required/);
    bad(['--task', 'vit-mnist', '--method', 'kfac'], /--task: expected one of mlp-mnist, cnn-mnist/);
    bad(['--task', 'mlp-mnist'], /--method: required/);
    bad(['--task', 'mlp-mnist', '--method', 'kfac,newton'], /--method: expected .* got "newton"/);
    bad(['--task', 'mlp-mnist', '--method', 'kfac', '--subsets', '9'], /--subsets: only with --lds/);
    bad(['--task', 'mlp-mnist', '--method', 'kfac', '--lds', '--subsets', '2'], /--subsets: expected a whole number from 3/);
    bad(['--task', 'mlp-mnist', '--method', 'kfac', '--damping', '0'], /--damping/);
    bad(['--task', 'mlp-mnist', '--method', 'kfac', '--frobnicate'], /unknown argument "--frobnicate"/);
    expect(() => parseInfluenceArgs(['--task'])).toThrow(InfluenceArgsError);
  });
});

describe('npm run influence (a real process)', () => {
  const run = (...args: string[]) => spawnSync('npm', ['run', '-s', 'influence', '--', ...args], { encoding: 'utf8', timeout: 120_000 });

  it('scores, ranks and evaluates a tiny MLP run and prints JSON', () => {
    const result = run(
      '--task',
      'mlp-mnist',
      '--method',
      'identity,kfac',
      '--examples',
      '48',
      '--queries',
      '2',
      '--steps',
      '8',
      '--lds',
      '--subsets',
      '4',
      '--seeds',
      '2',
      '--top',
      '2',
      '--json',
    );
    expect(result.status, result.stderr).toBe(0);
    const r = JSON.parse(result.stdout) as InfluenceExperiment;
    expect(r.task).toBe('mlp-mnist');
    expect(r.methods.map((m) => m.method)).toEqual(['identity', 'kfac']);
    for (const m of r.methods) {
      expect(m.top).toHaveLength(2);
      expect(m.top[0].helpful).toHaveLength(2);
      expect(m.top[0].helpful[0].score).toBeGreaterThanOrEqual(m.top[0].helpful[1].score);
      expect(m.top[0].harmful[0].score).toBeLessThanOrEqual(m.top[0].harmful[1].score);
      expect(m.lds?.perQuery).toHaveLength(2);
    }
    expect(r.lds).toMatchObject({ subsets: 4, seeds: 2 });
    expect(r.lds?.ceiling?.mean).toBeGreaterThanOrEqual(-1);
    expect(r.damping.absolute).toBeGreaterThan(0);
  });

  it('exits 2 naming the method it cannot run', () => {
    const result = run('--task', 'mlp-mnist', '--method', 'ggn');
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/ggn.*only feasible for tiny models/);
  });
});
