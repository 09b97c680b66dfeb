// The Memorisation page's URL settings (src/ui/pages/memorisation/memorisation-url.ts): a round trip,
// the experiment's own defaults, and bad links that fall back to the defaults with messages naming
// the field.
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_RHO_GRID,
  defaultSettings,
  memorisationSettingsFromQuery,
  memorisationSettingsToQuery,
} from '../../src/ui/pages/memorisation/memorisation-url.ts';

describe('memorisation URL settings', () => {
  it('round-trips and adds ρ = 1 to the grid', () => {
    const { settings, errors } = memorisationSettingsFromQuery('experiment=modular-exceptions&steps=12&layers=5,4&rhos=0.999,0.5&rho=0.5');
    expect(errors).toEqual([]);
    expect(settings).toEqual({
      experiment: 'modular-exceptions',
      model: 'train',
      steps: 12,
      seed: 1,
      layers: [5, 4],
      rhos: [0.5, 0.999, 1],
      rho: 0.5,
    });
    expect(memorisationSettingsFromQuery(memorisationSettingsToQuery(settings)).settings).toEqual(settings);
  });

  it("takes the experiment's own steps and layers by default", () => {
    expect(memorisationSettingsFromQuery('').settings).toEqual(defaultSettings('noisy-mnist'));
    const m = memorisationSettingsFromQuery('experiment=modular-exceptions').settings;
    expect(m.layers).toEqual([4, 5]);
    expect(m.steps).toBe(4000);
    expect(m.rhos).toEqual([...DEFAULT_RHO_GRID]);
  });

  it.each([
    ['experiment=noisy-cifar', /^experiment: expected one of noisy-mnist, modular-exceptions/],
    ['layers=4', /^layers: expected K-FAC layer positions 0–3/],
    ['rhos=0,0.5', /^rhos: expected up to 40 keep-mass values in \(0, 1\]/],
    ['rho=0.77', /^rho: expected one of the grid's values/],
    ['steps=0', /^steps: expected a whole number from 1/],
    ['model=fresh', /^model: expected one of train, checkpoint/],
    ['seed=1&seed=2', /^seed: given more than once/],
    ['layer=2', /^"layer": unknown field/],
  ])('%s falls back to the defaults, naming the field', (query, message) => {
    const { settings, errors } = memorisationSettingsFromQuery(query);
    expect(settings).toEqual(defaultSettings());
    expect(errors[0]).toMatch(message);
    expect(errors.at(-1)).toMatch(/defaults instead/);
  });
});
