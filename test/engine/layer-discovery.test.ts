// Layer discovery (src/engine/nn/layer-discovery.ts): the K-FAC layers of a model in capture order,
// each once, and the discovery pass leaves no tensor behind (its own arena frees the pass).
import { describe, expect, it } from 'vitest';
import { constant } from '../../src/engine/autograd/variable.ts';
import { discoverCurvatureLayers } from '../../src/engine/nn/layer-discovery.ts';
import { Mlp } from '../../src/engine/nn/models/mlp.ts';
import { Rng } from '../../src/engine/random.ts';
import { useBackends } from '../helpers/backends.ts';

const backends = useBackends();

describe('discoverCurvatureLayers', () => {
  for (const kind of ['cpu', 'gpu'] as const) {
    it(`lists each Linear of an MLP once, in forward order, and frees the pass (${kind})`, () => {
      const be = backends[kind];
      const model = new Mlp({ backend: be, seed: 3 }, { widths: [3, 17, 1, 5] });
      const rng = new Rng(4);
      const x = constant(
        be.tensor(
          Float32Array.from({ length: 3 * 3 }, () => rng.normal()),
          [3, 3],
        ),
      );
      const before = be.memory().liveTensors;
      // Two passes inside one discovery: a layer met twice is listed once.
      const names = discoverCurvatureLayers(() => [model.forward(x), model.forward(x)]);
      expect(names).toEqual(model.layers.map((l) => l.name));
      expect(names).toHaveLength(3);
      expect(be.memory().liveTensors).toBe(before);
      x.value.dispose();
      model.dispose();
    });
  }

  it('frees the pass when the forward pass throws', () => {
    const be = backends.cpu;
    const before = be.memory().liveTensors;
    expect(() =>
      discoverCurvatureLayers(() => {
        be.zeros([4]);
        throw new Error('bad forward');
      }),
    ).toThrow('bad forward');
    expect(be.memory().liveTensors).toBe(before);
  });
});
