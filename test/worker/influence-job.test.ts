// The 'influence' worker job: its config (every bad field named), a 'scores' run from training to
// the top images and the checkpoint (which scores the same when given back), a drawn query, a tiny
// 'lds' run, and cancel.
import { describe, expect, it } from 'vitest';
import { JobCancelledError, JobConfigError } from '../../src/worker/jobs/job.ts';
import {
  influenceJob,
  parseInfluenceConfig,
  type InfluenceGalleryResult,
  type InfluenceLdsResult,
  type InfluenceScoresResult,
} from '../../src/worker/jobs/influence-job.ts';
import { useBackends } from '../helpers/backends.ts';

const b = useBackends();

const base = { task: 'mlp-mnist', model: { kind: 'train', steps: 6, seed: 2 }, examples: 40, top: 3 };

describe('influence job config', () => {
  it('fills defaults and names every bad field', () => {
    const c = parseInfluenceConfig({ task: 'cnn-mnist', model: { kind: 'train' } });
    expect(c).toMatchObject({
      action: 'scores',
      examples: 1000,
      methods: ['identity', 'kfac', 'ekfac'],
      damping: 0.1,
      query: { kind: 'test', index: 0 },
    });
    let error: unknown;
    try {
      parseInfluenceConfig({
        task: 'vit-mnist',
        model: { kind: 'x' },
        methods: ['ggn'],
        damping: 0,
        query: { kind: 'drawn', pixels: [1] },
        extra: 1,
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(JobConfigError);
    const text = (error as JobConfigError).messages.join('\n');
    for (const field of [
      'influence.extra',
      'influence.task',
      'influence.model.kind',
      'influence.methods',
      'influence.damping',
      'influence.query.pixels',
    ])
      expect(text).toContain(field);
  });
});

describe('influence job (wasm)', () => {
  const progress = () => {};
  const signal = new AbortController().signal;

  it('lists test images for the gallery', async () => {
    const out = await influenceJob.run(parseInfluenceConfig({ action: 'gallery', task: 'cnn-mnist', galleryStart: 510, galleryCount: 5 }), {
      backend: b.wasm,
      signal,
      progress,
    });
    const r = out.result as InfluenceGalleryResult;
    expect(r.images.map((i) => i.index)).toEqual([510, 511]);
    expect(r.testCount).toBe(512);
    expect(r.images[0].pixels).toHaveLength(196);
  });

  it('trains, scores a test image under each method, and its checkpoint scores the same', async () => {
    const out = await influenceJob.run(parseInfluenceConfig({ ...base, query: { kind: 'test', index: 3 } }), {
      backend: b.wasm,
      signal,
      progress,
    });
    const r = out.result as InfluenceScoresResult;
    expect(r.query).toMatchObject({ kind: 'test', index: 3 });
    expect(r.query.pixels).toHaveLength(196);
    expect(r.query.probabilities.reduce((a, p) => a + p, 0)).toBeCloseTo(1, 5);
    expect(r.methods.map((m) => m.method)).toEqual(['identity', 'kfac', 'ekfac']);
    for (const m of r.methods) {
      expect(m.scores).toHaveLength(40);
      expect(m.helpful).toHaveLength(3);
      expect(Math.fround(m.helpful[0].score)).toBe(Math.max(...m.scores));
      expect(Math.fround(m.harmful[0].score)).toBe(Math.min(...m.scores));
      expect(m.harmful[0].score).toBeLessThanOrEqual(m.harmful[1].score);
      expect(m.helpful[0].pixels).toHaveLength(196);
    }
    expect(r.model.checkpoint).toBeInstanceOf(Uint8Array);
    const again = await influenceJob.run(
      parseInfluenceConfig({ ...base, model: { kind: 'checkpoint', bytes: r.model.checkpoint }, query: { kind: 'test', index: 3 } }),
      { backend: b.wasm, signal, progress },
    );
    const r2 = again.result as InfluenceScoresResult;
    expect(Array.from(r2.methods[1].scores)).toEqual(Array.from(r.methods[1].scores));
    expect(r2.model.checkpoint).toBeNull();
  });

  it('scores a drawn digit labelled by the prediction, and runs a tiny LDS', async () => {
    const pixels = Array.from({ length: 196 }, (_, i) => (i % 14 === 7 ? 1 : 0));
    const drawn = (
      await influenceJob.run(parseInfluenceConfig({ ...base, methods: ['kfac'], query: { kind: 'drawn', pixels, label: null } }), {
        backend: b.wasm,
        signal,
        progress,
      })
    ).result as InfluenceScoresResult;
    expect(drawn.query.kind).toBe('drawn');
    expect(drawn.query.label).toBe(drawn.query.predicted);
    const lds = (
      await influenceJob.run(
        parseInfluenceConfig({ ...base, action: 'lds', methods: ['identity', 'kfac'], ldsQueries: 2, subsets: 3, seeds: 2, ldsSteps: 4 }),
        {
          backend: b.wasm,
          signal,
          progress,
        },
      )
    ).result as InfluenceLdsResult;
    expect(lds.methods.map((m) => m.perQuery.length)).toEqual([2, 2]);
    expect(lds.ceiling?.perQuery).toHaveLength(2);
  });

  it('cancels', async () => {
    const controller = new AbortController();
    const run = influenceJob.run(parseInfluenceConfig({ ...base, model: { kind: 'train', steps: 2000, seed: 1 } }), {
      backend: b.wasm,
      signal: controller.signal,
      progress: (p) => {
        if (p.done > 3) controller.abort();
      },
    });
    await expect(run).rejects.toBeInstanceOf(JobCancelledError);
  });
});
