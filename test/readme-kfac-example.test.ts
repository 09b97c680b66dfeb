// The README's K-FAC scripting example is examples/kfac-factors.ts, quoted verbatim; this test keeps
// the quote honest and checks what the example claims.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { kfacFactorsExample } from '../examples/kfac-factors.ts';

describe('README example: K-FAC factors against the exact GGN', () => {
  it('is quoted verbatim in the README', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const example = readFileSync(new URL('../examples/kfac-factors.ts', import.meta.url), 'utf8');
    expect(readme).toContain(example.trim());
  });
  it('K-FAC-reduce equals the exact GGN of both layers', () => {
    const errors = kfacFactorsExample();
    expect(errors.map((e) => [e.name, e.A, e.G])).toEqual([
      ['first', [4, 4], [4, 4]],
      ['second', [5, 5], [2, 2]],
    ]);
    for (const e of errors) expect(e.relativeError).toBeLessThan(1e-12);
  });
});
