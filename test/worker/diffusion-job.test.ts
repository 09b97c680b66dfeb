// The worker's 'diffusion' job (src/worker/jobs/diffusion-job.ts): its config is checked field by
// field, and a tiny run trains, samples and scores with every method; reusing the returned weights
// skips training and reproduces the same samples and scores.
import { describe, expect, it } from 'vitest';
import { diffusionJob, parseDiffusionConfig } from '../../src/worker/jobs/diffusion-job.ts';
import { JobConfigError } from '../../src/worker/jobs/job.ts';
import { useBackends } from '../helpers/backends.ts';

const backends = useBackends();

describe('diffusion job', () => {
  it('fills defaults and refuses bad fields with messages that name them', () => {
    const c = parseDiffusionConfig({});
    expect(c.cloud).toBe('spirals');
    expect(c.methods).toEqual(['identity', 'kfac', 'ekfac']);
    const problems = (value: unknown) => {
      try {
        parseDiffusionConfig(value);
      } catch (e) {
        expect(e).toBeInstanceOf(JobConfigError);
        return (e as JobConfigError).messages.join('\n');
      }
      return '';
    };
    expect(problems({ cloud: 'moons' })).toMatch(/diffusion\.cloud/);
    expect(problems({ points: 33 })).toMatch(/even number/);
    expect(problems({ methods: ['kfac', 'ggn'] })).toMatch(/diffusion\.methods/);
    expect(problems({ relativeDamping: -1 })).toMatch(/relativeDamping/);
    expect(problems({ queries: 9, samples: 8 })).toMatch(/diffusion\.queries/);
    expect(problems({ lr: 1 })).toMatch(/unknown field/);
    expect(problems({ weights: { 'fc0.weight': [1, 2] } })).toMatch(/Float32Array/);
  });

  it('trains, samples and scores on wasm; the returned weights reproduce the run without training', async () => {
    const config = parseDiffusionConfig({
      points: 32,
      width: 8,
      depth: 1,
      trainSteps: 40,
      samples: 16,
      queries: 3,
      trainDraws: 4,
      queryDraws: 8,
    });
    const stages = new Set<string>();
    const context = {
      backend: backends.wasm,
      signal: new AbortController().signal,
      progress: (p: { stage: string }) => void stages.add(p.stage),
    };
    const { result } = await diffusionJob.run(config, context);
    expect(result.trained).toBe(true);
    expect(result.losses).toHaveLength(40);
    expect(result.points).toHaveLength(64);
    expect(result.samples).toHaveLength(32);
    expect(result.influence.methods.map((m) => m.method)).toEqual(['identity', 'kfac', 'ekfac']);
    for (const m of result.influence.methods) {
      expect(m.scores).toHaveLength(3 * 32);
      expect(Array.from(m.scores).every(Number.isFinite)).toBe(true);
    }
    expect([...stages]).toContain('training the denoiser');
    expect([...stages]).toContain('sampling (DDPM)');
    const again = await diffusionJob.run({ ...config, weights: result.weights }, context);
    expect(again.result.trained).toBe(false);
    expect(again.result.losses).toHaveLength(0);
    expect(Array.from(again.result.samples)).toEqual(Array.from(result.samples));
    expect(Array.from(again.result.influence.methods[1].scores)).toEqual(Array.from(result.influence.methods[1].scores));
  });

  it('refuses weights of another model shape with a clear message', async () => {
    const config = parseDiffusionConfig({
      points: 16,
      width: 8,
      depth: 1,
      trainSteps: 1,
      samples: 2,
      queries: 1,
      weights: { 'fc0.weight': new Float32Array(3) },
    });
    await expect(
      diffusionJob.run(config, { backend: backends.wasm, signal: new AbortController().signal, progress: () => {} }),
    ).rejects.toThrow(/diffusion\.weights/);
  });

  it('stops with a cancel', async () => {
    const controller = new AbortController();
    const config = parseDiffusionConfig({ points: 32, width: 8, depth: 1, trainSteps: 2000 });
    const run = diffusionJob.run(config, {
      backend: backends.wasm,
      signal: controller.signal,
      progress: (p) => {
        if (p.done >= 5) controller.abort();
      },
    });
    await expect(run).rejects.toThrow(/cancelled/);
  });
});
