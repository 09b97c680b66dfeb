// Module.dispose frees everything a model holds: its parameters and what its children cache (the
// attention's causal masks). A transformer-modular experiment leaves no tensor behind (the task data
// cached on the backend aside, which the first run warms).
import { describe, expect, it } from 'vitest';
import { TransformerLm } from '../../src/engine/nn/models/transformer-lm.ts';
import { scope } from '../../src/engine/tensor.ts';
import { runExperiment } from '../../src/engine/lab/experiment.ts';
import { presetConfig } from '../../src/engine/lab/presets.ts';
import { useBackends } from '../helpers/backends.ts';
import type { Backend } from '../../src/engine/backend/backend.ts';

const b = useBackends();

describe('Module.dispose', () => {
  const cases: [string, () => Backend][] = [
    ['cpu', () => b.cpu],
    ['wasm', () => b.wasm],
    ['webgpu', () => b.gpu],
  ];
  for (const [name, backendOf] of cases) {
    it(`${name}: a causal transformer's dispose after forward passes leaves no tensor alive`, () => {
      const backend = backendOf();
      const before = backend.memory().liveTensors;
      const model = new TransformerLm({ backend, seed: 3 }, { vocab: 7, context: 4, dim: 8, depth: 2, heads: 2 });
      expect(backend.memory().liveTensors - before, 'the parameters').toBe(model.parameters().length);
      for (const t of [4, 3]) {
        const ids = backend.tensor(
          Array.from({ length: 2 * t }, (_, i) => i % 7),
          [2, t],
          'int32',
        );
        scope(() => {
          model.forward(ids);
        });
        ids.dispose();
      }
      // Two blocks × two lengths of cached causal mask.
      expect(backend.memory().liveTensors - before, 'parameters and the cached masks').toBe(model.parameters().length + 4);
      model.dispose();
      expect(backend.memory().liveTensors).toBe(before);
    });
  }
});

describe('transformer-modular', () => {
  it('a run of the preset (all four optimizers) leaves no tensor alive once the task data is cached', async () => {
    const config = { ...presetConfig('transformer-modular'), steps: 2, evalInterval: 2 };
    await runExperiment(b.cpu, config); // caches the task's data on the backend
    const before = b.cpu.memory().liveTensors;
    const result = await runExperiment(b.cpu, config);
    expect(result.runs.map((r) => r.optimizer)).toEqual(['sgd', 'adam', 'kfac-expand', 'kfac-reduce']);
    expect(b.cpu.memory().liveTensors - before, 'tensors left alive by a run').toBe(0);
  }, 60_000);
});
