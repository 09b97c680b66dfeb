// The Curvature page's URL state (src/ui/pages/curvature/curvature-url.ts): a round trip keeps every
// setting; hostile or malformed links give plain-text messages naming the field and the defaults.
import { describe, expect, it } from 'vitest';
import {
  curvatureSettingsFromQuery,
  curvatureSettingsToQuery,
  DEFAULT_CURVATURE_SETTINGS,
  type CurvatureSettings,
} from '../../src/ui/pages/curvature/curvature-url.ts';
import { MAX_CURVATURE_EXAMPLES, MAX_TRAIN_STEPS } from '../../src/worker/jobs/limits.ts';

describe('curvature settings in the URL', () => {
  it('an empty query gives the defaults and no message', () => {
    expect(curvatureSettingsFromQuery('')).toEqual({ settings: DEFAULT_CURVATURE_SETTINGS, errors: [] });
  });

  it('round-trips every setting', () => {
    const settings: CurvatureSettings = {
      task: 'gcn-node',
      model: 'fresh',
      steps: 7,
      seed: 12345,
      examples: 33,
      fisher: 'empirical',
      exact: 0,
      layer: 2,
    };
    const query = curvatureSettingsToQuery(settings);
    expect(query).toBe('task=gcn-node&model=fresh&steps=7&seed=12345&examples=33&fisher=empirical&exact=0&layer=2');
    expect(curvatureSettingsFromQuery(query)).toEqual({ settings, errors: [] });
  });

  it('a missing field takes its default', () => {
    expect(curvatureSettingsFromQuery('task=mlp-spirals').settings).toEqual({ ...DEFAULT_CURVATURE_SETTINGS, task: 'mlp-spirals' });
  });

  it.each([
    ['task=%3Cscript%3Ealert(1)%3C%2Fscript%3E', /^task: expected one of .*got "<script>alert\(1\)<\/script>"/],
    ['steps=0', new RegExp(`^steps: expected a whole number from 1 to ${MAX_TRAIN_STEPS}, got "0"`)],
    ['steps=1e3', /^steps: expected a whole number/],
    ['steps=NaN', /^steps: expected a whole number/],
    [`examples=${MAX_CURVATURE_EXAMPLES + 1}`, /^examples: expected a whole number/],
    ['seed=-1', /^seed: expected a whole number/],
    ['layer=0x1', /^layer: expected a whole number/],
    ['exact=99999', /^exact: expected a whole number from 0 to 4096/],
    ['model=stolen', /^model: expected one of fresh, train, checkpoint/],
    ['fisher=', /^fisher: expected one of type-2, mc, empirical, got ""/],
    ['__proto__=1', /^"__proto__": unknown field/],
    ['task=vit-mnist&task=gcn-node', /^task: given more than once/],
    ['steps', /^steps: has no value/],
    ['task=%E0%A4%A', /^link: broken percent-encoding/],
  ])('%s → the defaults and a message naming the field', (query, pattern) => {
    const { settings, errors } = curvatureSettingsFromQuery(query);
    expect(settings).toEqual(DEFAULT_CURVATURE_SETTINGS);
    expect(errors[0]).toMatch(pattern);
    expect(errors.at(-1)).toMatch(/shows its defaults/);
  });

  it('caps the messages and refuses an overlong link unread', () => {
    const many = Array.from({ length: 30 }, (_, i) => `bad${i}=1`).join('&');
    const { errors } = curvatureSettingsFromQuery(many);
    expect(errors.length).toBeLessThanOrEqual(10);
    expect(errors).toContain('… and 22 more problems');
    expect(curvatureSettingsFromQuery('a'.repeat(5000)).errors[0]).toMatch(/more than the 2048 allowed/);
    // Not a prototype pollution: the settings object has only its own fields.
    expect(Object.keys(curvatureSettingsFromQuery('__proto__=x&constructor=y').settings).sort()).toEqual(
      Object.keys(DEFAULT_CURVATURE_SETTINGS).sort(),
    );
  });
});
