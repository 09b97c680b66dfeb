// The 'prune' worker job (src/worker/jobs/prune-job.ts) run directly on the WASM backend: it trains
// the MNIST MLP, prunes it and returns the trained model as a checkpoint; pruning that checkpoint
// again starts from the same weights (same dense accuracy, same masks); a checkpoint of another task
// is refused; progress reaches the training and pruning stages.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WasmBackend } from '../../src/engine/backend/wasm/wasm-backend.ts';
import { JobConfigError } from '../../src/worker/jobs/job.ts';
import { parsePruneConfig, pruneJob } from '../../src/worker/jobs/prune-job.ts';
import type { JobProgress } from '../../src/worker/protocol.ts';

let backend: WasmBackend;
beforeAll(() => {
  backend = new WasmBackend();
});
afterAll(() => backend.destroy());

describe("the 'prune' job", () => {
  it('trains, prunes, hands back the model as a checkpoint, and prunes that checkpoint the same way', async () => {
    const stages = new Set<string>();
    const context = { backend, signal: new AbortController().signal, progress: (p: JobProgress) => void stages.add(p.stage.split(' ')[0]) };
    const base = { task: 'mlp-mnist', methods: ['magnitude', 'woodfisher'], sparsities: [0.6], examples: 32, finetune: 2 };
    const first = (await pruneJob.run(parsePruneConfig({ ...base, model: { kind: 'train', steps: 15, seed: 3 } }), context)).result;
    expect(first.checkpoint).toBeInstanceOf(Uint8Array);
    expect(first.model).toMatchObject({ kind: 'trained', steps: 15, seed: 3 });
    expect(first.result.runs.map((r) => r.method)).toEqual(['magnitude', 'woodfisher']);
    for (const r of first.result.runs) {
      expect(r.finetuned?.steps).toBe(2);
      for (const l of r.layers) expect(l.mask).toHaveLength(l.dOut * l.dIn);
    }
    expect([...stages]).toEqual(expect.arrayContaining(['training', 'curvature', 'pruning', 'fine-tuning']));
    const again = (await pruneJob.run(parsePruneConfig({ ...base, model: { kind: 'checkpoint', bytes: first.checkpoint! } }), context))
      .result;
    expect(again.checkpoint).toBeNull();
    expect(again.model).toMatchObject({ kind: 'checkpoint', step: 15, seed: 3 });
    expect(again.result.baseline.testAccuracy).toBe(first.result.baseline.testAccuracy);
    expect(again.result.runs[0].layers.map((l) => Array.from(l.mask!))).toEqual(
      first.result.runs[0].layers.map((l) => Array.from(l.mask!)),
    );
    await expect(
      pruneJob.run(parsePruneConfig({ ...base, task: 'cnn-mnist', model: { kind: 'checkpoint', bytes: first.checkpoint! } }), context),
    ).rejects.toThrow(JobConfigError);
  });
});
