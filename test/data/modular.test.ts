import { describe, expect, it } from 'vitest';
import { IGNORE_INDEX } from '../../src/engine/data/common.ts';
import { makeModular, modInverse, type ModOp } from '../../src/engine/data/modular.ts';

describe('modular arithmetic', () => {
  it('p = 7: every pair of every operation, answers correct (division via the inverse)', () => {
    const p = 7;
    const ops: ModOp[] = ['+', '-', '*', '/'];
    const ds = makeModular({ p, ops, trainFraction: 0.5, seed: 3 });
    expect(ds.vocabSize).toBe(p + 5);
    expect(ds.tokenNames).toEqual(['0', '1', '2', '3', '4', '5', '6', '+', '−', '×', '÷', '=']);
    const total = 3 * 49 + 42;
    expect(ds.train.count + ds.val.count).toBe(total);
    expect(ds.train.count).toBe(Math.round(0.5 * total));
    const seen = new Set<string>();
    for (const split of [ds.train, ds.val]) {
      for (let i = 0; i < split.count; i++) {
        const [a, opTok, b, eq] = split.tokens.subarray(i * 4, i * 4 + 4);
        const op = ops[opTok - p];
        expect(eq).toBe(ds.equalsToken);
        expect(opTok).toBe(ds.opTokens[op]);
        const c = split.answers[i];
        // Check by the defining property, not by the same formula.
        const divisible = (x: number) => x % p === 0;
        if (op === '+') expect(divisible(c - a - b), `${a}+${b}=${c}`).toBe(true);
        if (op === '-') expect(divisible(c + b - a), `${a}-${b}=${c}`).toBe(true);
        if (op === '*') expect(divisible(c - a * b), `${a}*${b}=${c}`).toBe(true);
        if (op === '/') expect(divisible(c * b - a), `${a}/${b}=${c}`).toBe(true);
        expect(c >= 0 && c < p).toBe(true);
        expect(Array.from(split.targets.subarray(i * 4, i * 4 + 4))).toEqual([IGNORE_INDEX, IGNORE_INDEX, IGNORE_INDEX, c]);
        seen.add(`${a}${op}${b}`);
      }
    }
    expect(seen.size).toBe(total); // no pair twice, none missing
    for (let b = 1; b < p; b++) expect((b * modInverse(b, p)) % p).toBe(1);
  });

  it('the split is seeded: same seed same split, other seed other split', () => {
    const a = makeModular({ p: 13, seed: 1, trainFraction: 0.3 });
    const b = makeModular({ p: 13, seed: 1, trainFraction: 0.3 });
    const c = makeModular({ p: 13, seed: 2, trainFraction: 0.3 });
    expect(Array.from(a.train.tokens)).toEqual(Array.from(b.train.tokens));
    expect(Array.from(a.train.tokens)).not.toEqual(Array.from(c.train.tokens));
    expect(a.train.count).toBe(Math.round(0.3 * 169));
    expect(a.vocabSize).toBe(18);
  });

  it('defaults: p = 97, addition, 40% train', () => {
    const ds = makeModular({ seed: 0 });
    expect(ds.p).toBe(97);
    expect(ds.train.count).toBe(Math.round(0.4 * 97 * 97));
    expect(ds.train.tokens.length).toBe(ds.train.count * 4);
  });

  it('rejects bad arguments with clear errors', () => {
    expect(() => makeModular({ p: 8, ops: ['/'], seed: 0 })).toThrow(/prime modulus, 8 is not prime/);
    expect(() => makeModular({ p: 1, seed: 0 })).toThrow(/p must be an integer in \[2, 1024\]/);
    expect(() => makeModular({ p: 7, ops: ['%' as ModOp], seed: 0 })).toThrow(/unknown operation %/);
    expect(() => makeModular({ p: 7, ops: [], seed: 0 })).toThrow(/non-empty/);
    expect(() => makeModular({ p: 7, trainFraction: 1.5, seed: 0 })).toThrow(/trainFraction/);
    expect(() => makeModular({ p: 7, trainFraction: 0, seed: 0 })).toThrow(/empty/);
    expect(() => makeModular({ p: 7 } as never)).toThrow(/seed/);
    expect(() => modInverse(14, 7)).toThrow(/no inverse/);
  });
});
