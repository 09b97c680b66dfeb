// The worker's 'edit' job (src/worker/jobs/edit-job.ts): its config is checked field by field, and a
// tiny run (a few training steps of the modular-exceptions transformer on wasm) returns a checkpoint
// of the base task and a sweep whose ρ = 1 rows are the unedited model; the checkpoint, given back,
// reproduces the same accuracies without training.
import { describe, expect, it } from 'vitest';
import { decodeCheckpoint } from '../../src/engine/checkpoint/checkpoint.ts';
import { editJob, parseEditConfig } from '../../src/worker/jobs/edit-job.ts';
import { JobConfigError } from '../../src/worker/jobs/job.ts';
import { useBackends } from '../helpers/backends.ts';

const backends = useBackends();

describe('edit job', () => {
  it("fills defaults (the experiment's layers, ρ = 1 added) and refuses bad fields, naming them", () => {
    const c = parseEditConfig({ experiment: 'noisy-mnist', model: { kind: 'train', steps: 10 }, rhos: [0.9, 0.5] });
    expect(c.layers).toEqual([2, 3]);
    expect(c.rhos).toEqual([0.5, 0.9, 1]);
    expect(c.seed).toBe(1);
    const problems = (value: unknown) => {
      try {
        parseEditConfig(value);
      } catch (e) {
        expect(e).toBeInstanceOf(JobConfigError);
        return (e as JobConfigError).messages.join('\n');
      }
      return '';
    };
    const good = { experiment: 'modular-exceptions', model: { kind: 'train', steps: 10 }, rhos: [0.9] };
    expect(problems({ ...good, experiment: 'noisy-cifar' })).toMatch(/edit\.experiment: expected one of noisy-mnist, modular-exceptions/);
    expect(problems({ ...good, model: { kind: 'fresh' } })).toMatch(/edit\.model\.kind/);
    expect(problems({ ...good, model: { kind: 'train', steps: 0 } })).toMatch(/edit\.model\.steps/);
    expect(problems({ ...good, model: { kind: 'checkpoint', bytes: [1, 2] } })).toMatch(/edit\.model\.bytes: .*Uint8Array/);
    expect(problems({ ...good, layers: [7] })).toMatch(/edit\.layers: expected K-FAC layer positions 0–6/);
    expect(problems({ ...good, layers: [4, 4] })).toMatch(/edit\.layers: lists a layer twice/);
    expect(problems({ ...good, rhos: [0] })).toMatch(/edit\.rhos: expected keep-mass values in \(0, 1\]/);
    expect(problems({ ...good, rhos: [] })).toMatch(/edit\.rhos/);
    expect(problems({ ...good, rho: 0.5 })).toMatch(/edit\.rho: unknown field/);
  });

  it('trains, edits and returns a checkpoint that reproduces the unedited accuracies', async () => {
    const stages = new Set<string>();
    const context = {
      backend: backends.wasm,
      signal: new AbortController().signal,
      progress: (p: { stage: string }) => void stages.add(p.stage),
    };
    const config = parseEditConfig({ experiment: 'modular-exceptions', model: { kind: 'train', steps: 10 }, layers: [5], rhos: [0.99] });
    const { result } = await editJob.run(config, context);
    expect(stages.has('training')).toBe(true);
    expect(result.checkpoint).not.toBeNull();
    expect(decodeCheckpoint(result.checkpoint!)).toMatchObject({ task: 'transformer-modular', step: 10, seed: 1 });
    expect(result.sweep.rows.map((r) => `${r.method}@${r.rho}`)).toEqual([
      'kfac@0.99',
      'rectangle@0.99',
      'svd@0.99',
      'kfac@1',
      'rectangle@1',
      'svd@1',
    ]);
    const unedited = result.sweep.rows.filter((r) => r.rho === 1);
    for (const r of unedited) expect(r.testAccuracy).toBe(result.sweep.baseline.testAccuracy);

    const again = await editJob.run(
      parseEditConfig({
        experiment: 'modular-exceptions',
        model: { kind: 'checkpoint', bytes: result.checkpoint },
        layers: [5],
        rhos: [0.99],
      }),
      context,
    );
    expect(again.result.checkpoint).toBeNull();
    expect(again.result.model).toMatchObject({ kind: 'checkpoint', steps: 10, seed: 1 });
    expect(again.result.sweep.baseline).toEqual(result.sweep.baseline);
  });

  it('refuses a checkpoint of another task', async () => {
    const first = await editJob.run(
      parseEditConfig({ experiment: 'modular-exceptions', model: { kind: 'train', steps: 1 }, layers: [5], rhos: [1] }),
      {
        backend: backends.wasm,
        signal: new AbortController().signal,
        progress: () => undefined,
      },
    );
    const config = parseEditConfig({ experiment: 'noisy-mnist', model: { kind: 'checkpoint', bytes: first.result.checkpoint }, rhos: [1] });
    await expect(
      editJob.run(config, { backend: backends.wasm, signal: new AbortController().signal, progress: () => undefined }),
    ).rejects.toThrow(/checkpoint is a model of task "transformer-modular", but noisy-mnist uses the model of "cnn-mnist"/);
  });
});
