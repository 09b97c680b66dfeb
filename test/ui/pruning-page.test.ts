// The Pruning page's pure parts: its URL state (src/ui/pages/pruning/pruning-url.ts) round-trips and
// names bad fields; the worker job's config parser (src/worker/jobs/prune-job.ts) fills defaults and
// names every problem; the mask images (pruning-figures.ts) put each hidden unit's 196 input weights
// on its own 14 × 14 tile and count the units that still see each pixel; the JSON export writes masks
// as plain arrays.
import { describe, expect, it } from 'vitest';
import { JobConfigError } from '../../src/worker/jobs/job.ts';
import { parsePruneConfig } from '../../src/worker/jobs/prune-job.ts';
import { buildAccuracyFigure, maskImage, pixelCoverage } from '../../src/ui/pages/pruning/pruning-figures.ts';
import { pruningResultJson } from '../../src/ui/pages/pruning/pruning-store.ts';
import {
  DEFAULT_PRUNING_SETTINGS,
  pruningSettingsFromQuery,
  pruningSettingsToQuery,
  type PruningSettings,
} from '../../src/ui/pages/pruning/pruning-url.ts';
import type { PruneJobResult } from '../../src/worker/jobs/prune-job.ts';
import type { PruneRun } from '../../src/engine/tools/prune/prune-experiment.ts';

describe('pruning settings in the URL', () => {
  it('round-trips every setting; an empty query gives the defaults', () => {
    expect(pruningSettingsFromQuery('')).toEqual({ settings: DEFAULT_PRUNING_SETTINGS, errors: [] });
    const settings: PruningSettings = {
      task: 'cnn-mnist',
      model: 'checkpoint',
      steps: 7,
      seed: 3,
      methods: ['kfac-obs', 'magnitude'],
      sparsities: [0.25, 0.9],
      scope: 'layer',
      damping: 0.003,
      examples: 77,
      finetune: 12,
      gradual: 4,
    };
    const query = pruningSettingsToQuery(settings);
    expect(query).toContain('methods=kfac-obs,magnitude');
    expect(pruningSettingsFromQuery(query)).toEqual({ settings, errors: [] });
  });

  it('names every bad field and falls back to the defaults', () => {
    const { settings, errors } = pruningSettingsFromQuery(
      'task=vit-mnist&sparsity=0.5,1.2&methods=obs&damping=-1&gradual=0&bogus=1&seed=1&seed=2',
    );
    expect(settings).toEqual(DEFAULT_PRUNING_SETTINGS);
    for (const field of ['task', 'sparsity', 'methods', 'damping', 'gradual', 'bogus', 'seed: given twice'])
      expect(errors.join('\n')).toContain(field);
  });
});

describe("the 'prune' job's config", () => {
  it('fills the defaults and keeps what is given', () => {
    expect(parsePruneConfig({})).toMatchObject({
      task: 'mlp-mnist',
      model: { kind: 'train', steps: 600, seed: 1 },
      scope: 'global',
      damping: 1e-4,
      finetune: 0,
      steps: 1,
    });
    const bytes = new Uint8Array([1, 2, 3]);
    expect(
      parsePruneConfig({ task: 'cnn-mnist', model: { kind: 'checkpoint', bytes }, sparsities: [0.9, 0.5, 0.9], methods: ['woodfisher'] }),
    ).toMatchObject({
      task: 'cnn-mnist',
      model: { kind: 'checkpoint', bytes },
      sparsities: [0.5, 0.9],
      methods: ['woodfisher'],
    });
  });

  it('names every problem at once', () => {
    try {
      parsePruneConfig({
        task: 'gcn-node',
        methods: ['ggn-obs'],
        sparsities: [1.5],
        damping: 0,
        examples: 0,
        extra: 1,
        model: { kind: 'fresh' },
      });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(JobConfigError);
      const text = (e as JobConfigError).messages.join('\n');
      for (const field of [
        'prune.task',
        'prune.methods',
        'prune.sparsities',
        'prune.damping',
        'prune.examples',
        'prune.extra',
        'prune.model.kind',
      ])
        expect(text).toContain(field);
    }
  });
});

describe('mask images', () => {
  it("puts each unit's 196 input weights on its own 14 × 14 tile, and counts the units that see each pixel", () => {
    const [dOut, dIn] = [5, 196];
    const mask = new Uint8Array(dOut * dIn);
    // Unit u keeps only pixel (u, 2u).
    for (let u = 0; u < dOut; u++) mask[u * dIn + u * 14 + 2 * u] = 1;
    mask[4 * dIn + 0] = 1;
    const { z, tiles } = maskImage(mask, dOut, dIn);
    expect(tiles).toBe(5);
    // 3 tiles per row (ceil √5), 2 rows, 1-pixel gaps.
    expect(z).toHaveLength(2 * 15 - 1);
    expect(z[0]).toHaveLength(3 * 15 - 1);
    for (let u = 0; u < dOut; u++) {
      const [tr, tc] = [Math.floor(u / 3), u % 3];
      expect(z[tr * 15 + u][tc * 15 + 2 * u]).toBe(1);
    }
    expect(z[14][0]).toBeNull();
    const kept = z.flat().filter((x) => x === 1).length;
    expect(kept).toBe(6);
    const coverage = pixelCoverage(mask, dOut, dIn);
    expect(coverage[0][0]).toBe(2);
    expect(coverage[3][6]).toBe(1);
    expect(coverage.flat().reduce((s, x) => s + x, 0)).toBe(6);
    // Other layers are drawn as they are.
    expect(maskImage(Uint8Array.of(1, 0, 0, 1, 1, 1), 2, 3).z).toEqual([
      [1, 0, 0],
      [1, 1, 1],
    ]);
  });

  it('the accuracy figure has one trace per method and one per fine-tuned method; the export writes masks as arrays', () => {
    const run = (method: PruneRun['method'], sparsity: number, finetuned: boolean): PruneRun => ({
      method,
      sparsity,
      damping: 1e-4,
      testAccuracy: 0.5,
      lossBefore: 0.1,
      lossAfter: 0.3,
      predictedIncrease: method === 'magnitude' ? null : 0.1,
      seconds: 1,
      ...(finetuned ? { finetuned: { steps: 5, testAccuracy: 0.8, loss: 0.2, seconds: 1 } } : {}),
      layers: [{ name: 'fc0', dOut: 1, dIn: 2, kept: 1, mask: Uint8Array.of(1, 0) }],
    });
    const runs = [run('magnitude', 0.5, true), run('magnitude', 0.8, true), run('woodfisher', 0.5, true), run('woodfisher', 0.8, true)];
    const figure = buildAccuracyFigure(runs, 0.9);
    expect(figure.data.map((t) => (t as { x: number[] }).x.length)).toEqual([2, 2, 2, 2]);
    const result = { task: 'mlp-mnist', checkpoint: new Uint8Array(4), result: { runs } } as unknown as PruneJobResult;
    const json = JSON.parse(pruningResultJson(result));
    expect(json.checkpoint).toBeUndefined();
    expect(json.result.runs[0].layers[0].mask).toEqual([1, 0]);
  });
});
