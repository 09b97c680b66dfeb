// The `influence` tool (docs/curvature-tools.md §3) on JSON cases: kfac = ggn on a one-layer
// weighted regression case (K-FAC is exact there), the output layout, every bad field named, and
// one real `npm run -s curvature -- influence case.json`.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CaseError } from '../../src/engine/tools/case.ts';
import { findTool } from '../../src/engine/tools/registry.ts';
import type { InfluenceOutput } from '../../src/engine/tools/influence/influence-tool.ts';
import { Rng } from '../../src/engine/random.ts';
import { useBackends } from '../helpers/backends.ts';
import { relativeError } from '../helpers/compare.ts';
import { randomCase } from './cases.ts';

const b = useBackends();
const tool = findTool('influence')!;

/** A one-layer linear MSE case (K-FAC exact) with 9 training and 3 query examples, R = 2 positions. */
function linearCase(): Record<string, unknown> {
  const c = randomCase(5, { widths: [3, 2], N: 9, R: 2, setting: 'expand', loss: 'mse' });
  const q = randomCase(6, { widths: [3, 2], N: 3, R: 2, setting: 'expand', loss: 'mse' });
  return { ...c, queries: { inputs: q.inputs, targets: q.targets }, method: 'kfac', damping: 0.3, reduction: 'sum' };
}

describe('influence tool', () => {
  it('kfac = ggn on a linear MSE case, scores [Q][N] and queryLoss [Q]', async () => {
    const kfac = (await tool.run(linearCase(), { backend: b.cpu })) as InfluenceOutput;
    const ggn = (await tool.run({ ...linearCase(), method: 'ggn' }, { backend: b.cpu })) as InfluenceOutput;
    expect(kfac.scores.length).toBe(3);
    expect(kfac.scores[0].length).toBe(9);
    expect(kfac.queryLoss.length).toBe(3);
    expect(kfac.layers).toEqual([{ index: 0 }]);
    expect(relativeError(kfac.scores.flat(), ggn.scores.flat())).toBeLessThan(1e-10);
    const identity = (await tool.run({ ...linearCase(), method: 'identity' }, { backend: b.cpu })) as InfluenceOutput;
    expect(relativeError(identity.scores.flat(), ggn.scores.flat())).toBeGreaterThan(1e-2);
  });

  it('a two-layer CE case runs on wasm and agrees with the cpu', async () => {
    const rng = new Rng(2);
    const c = randomCase(8, { widths: [4, 5, 3], N: 7, R: 1, setting: 'reduce', loss: 'ce', activation: 'tanh' });
    const queries = { inputs: [[[0.1, -0.4, 0.3, 1]], [[rng.normal(), 0, 1, -1]]], targets: [2, 0] };
    const cpu = (await tool.run({ ...c, queries, method: 'ekfac', damping: 0.05 }, { backend: b.cpu })) as InfluenceOutput;
    const wasm = (await tool.run(
      { ...c, queries, method: 'ekfac', damping: 0.05, backend: 'wasm' },
      { backend: b.wasm },
    )) as InfluenceOutput;
    expect(relativeError(wasm.scores.flat(), cpu.scores.flat())).toBeLessThan(1e-3);
  });

  it('names the bad field', async () => {
    const bad = async (patch: Record<string, unknown>, field: string, message: RegExp) => {
      const error = await tool.run({ ...linearCase(), ...patch }, { backend: b.cpu }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CaseError);
      expect((error as CaseError).field).toBe(field);
      expect((error as Error).message).toMatch(message);
    };
    await bad({ queries: undefined }, 'queries', /required/);
    await bad({ queries: { inputs: [[[1, 2]]], targets: [[[0, 0]]] } }, 'queries.inputs', /N×R×3/);
    await bad({ queries: { inputs: [[[1, 2, 3]]], targets: [[[0, 0]]], weights: 1 } }, 'queries.weights', /unknown field/);
    await bad({ method: 'hessian' }, 'method', /"identity", "kfac", "ekfac" or "ggn"/);
    await bad({ damping: -1 }, 'damping', /≥ 0/);
    await bad({ method: 'identity', damping: 0 }, 'damping', /> 0/);
    await bad({ method: 'ggn', backend: 'wasm' }, 'method', /cpu/);
  });
});

describe('npm run curvature -- influence (a real process)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kfac-influence-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('prints the scores of a good case and exits 0', async () => {
    const file = join(dir, 'case.json');
    writeFileSync(file, JSON.stringify(linearCase()));
    const result = spawnSync('npm', ['run', '-s', 'curvature', '--', 'influence', file], { encoding: 'utf8', timeout: 60_000 });
    expect(result.status, result.stderr).toBe(0);
    const printed = JSON.parse(result.stdout) as InfluenceOutput;
    const direct = (await tool.run(linearCase(), { backend: b.cpu })) as InfluenceOutput;
    expect(relativeError(printed.scores.flat(), direct.scores.flat())).toBeLessThan(1e-12);
  });
});
