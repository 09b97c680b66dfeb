import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { hyperparameterDocs } from '../../src/engine/optim/schema-docs.ts';

describe('docs/hyperparameters.md', () => {
  it('is up to date with the schema (run `npm run docs` after changing it)', () => {
    expect(readFileSync(new URL('../../docs/hyperparameters.md', import.meta.url), 'utf8')).toBe(hyperparameterDocs());
  });
});
