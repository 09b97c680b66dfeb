/**
 * Modular arithmetic, the grokking task (Power et al. 2022): learn a ∘ b mod p from a fraction of
 * all pairs and generalise to the rest.
 *
 * Examples: every pair (a, b) with a, b in [0, p) for each chosen operation (+, −, ×; for ÷,
 * b in [1, p) and a ÷ b = a · b^{-1} mod p, which needs p prime). N = p² per operation (p(p−1) for
 * ÷). Each example is the 4-token sequence [a, op, b, =]; the answer (a ∘ b) mod p is predicted at
 * the last position ('='), so targets are IGNORE_INDEX (−1) at positions 0..2 and the answer at 3.
 *
 * Vocabulary (fixed for a given p, whatever operations are used): ids 0..p−1 are the numbers,
 * p..p+3 are '+', '−', '×', '÷', and p+4 is '='; vocabSize = p + 5.
 *
 * Split: a seeded shuffle of all examples puts round(trainFraction · N) in train (default 0.4) and
 * the rest in validation; both lists are stored in canonical order (operation, a, b) — training
 * order comes from a BatchSampler, and the validation set is never shuffled.
 */
import { DataError, IGNORE_INDEX, permutation, requireInt, requireNumber, requireSeed, streamRng } from './common.ts';

export type ModOp = '+' | '-' | '*' | '/';
export const MOD_OPS: readonly ModOp[] = ['+', '-', '*', '/'];
const OP_NAMES: Record<ModOp, string> = { '+': '+', '-': '−', '*': '×', '/': '÷' };

export interface ModularOptions {
  /** The modulus (default 97); 2 ≤ p ≤ 1024; prime when '/' is used. */
  p?: number;
  /** Operations mixed into one data set (default ['+']). */
  ops?: ModOp[];
  /** Share of all examples used for training (default 0.4). */
  trainFraction?: number;
  seed: number;
}

export interface TokenSplit {
  /** [count, seqLen] token ids. */
  tokens: Int32Array;
  /** [count, seqLen]: IGNORE_INDEX except the answer at `answerPosition`. */
  targets: Int32Array;
  /** [count]: the answers alone, for accuracy. */
  answers: Int32Array;
  count: number;
}

export interface ModularDataset {
  train: TokenSplit;
  val: TokenSplit;
  p: number;
  ops: ModOp[];
  seqLen: 4;
  answerPosition: 3;
  vocabSize: number;
  /** Printable name of every token id. */
  tokenNames: string[];
  /** Token id of each operation (all four are in the vocabulary). */
  opTokens: Record<ModOp, number>;
  equalsToken: number;
}

export function isPrime(n: number): boolean {
  if (n < 2) return false;
  for (let d = 2; d * d <= n; d++) if (n % d === 0) return false;
  return true;
}

/** (base^exp) mod m in exact integers (m < 2^26 keeps every product below 2^53). */
function powMod(base: number, exp: number, m: number): number {
  let result = 1;
  let b = base % m;
  for (let e = exp; e > 0; e = Math.floor(e / 2)) {
    if (e % 2) result = (result * b) % m;
    b = (b * b) % m;
  }
  return result;
}

/** The inverse of b modulo a prime p (Fermat: b^{p−2}). */
export function modInverse(b: number, p: number): number {
  if (b % p === 0) throw new DataError(`modInverse: ${b} has no inverse modulo ${p}`);
  return powMod(b, p - 2, p);
}

/** (a ∘ b) mod p. */
export function modApply(op: ModOp, a: number, b: number, p: number): number {
  switch (op) {
    case '+':
      return (a + b) % p;
    case '-':
      return (((a - b) % p) + p) % p;
    case '*':
      return (a * b) % p;
    case '/':
      return (a * modInverse(b, p)) % p;
  }
}

export function makeModular(options: ModularOptions): ModularDataset {
  const where = 'makeModular';
  if (!options || typeof options !== 'object') throw new DataError(`${where}: expected an options object`);
  const p = requireInt(where, 'p', options.p ?? 97, 2, 1024);
  const seed = requireSeed(where, options.seed);
  const trainFraction = requireNumber(where, 'trainFraction', options.trainFraction ?? 0.4, 0, 1);
  const ops = options.ops ?? ['+'];
  if (!Array.isArray(ops) || ops.length === 0) throw new DataError(`${where}: ops must be a non-empty list of '+', '-', '*', '/'`);
  for (const op of ops)
    if (!MOD_OPS.includes(op)) throw new DataError(`${where}: unknown operation ${String(op)} (use '+', '-', '*', '/')`);
  if (new Set(ops).size !== ops.length) throw new DataError(`${where}: ops lists an operation twice`);
  if (ops.includes('/') && !isPrime(p)) throw new DataError(`${where}: division needs a prime modulus, ${p} is not prime`);

  const opTokens = Object.fromEntries(MOD_OPS.map((op, i) => [op, p + i])) as Record<ModOp, number>;
  const equalsToken = p + MOD_OPS.length;
  const seqLen = 4;
  const answerPosition = 3;

  // Canonical order: by operation, then a, then b.
  const total = ops.reduce((s, op) => s + p * (op === '/' ? p - 1 : p), 0);
  const rows = new Int32Array(total * 4);
  let r = 0;
  for (const op of ops) {
    for (let a = 0; a < p; a++) {
      for (let b = op === '/' ? 1 : 0; b < p; b++, r += 4) rows.set([a, opTokens[op], b, modApply(op, a, b, p)], r);
    }
  }
  const trainCount = Math.round(trainFraction * total);
  if (trainCount === 0 || trainCount === total) {
    throw new DataError(`${where}: trainFraction ${trainFraction} of ${total} examples leaves train or validation empty`);
  }
  const order = permutation(total, streamRng(seed, 20));
  const trainIdx = order.slice(0, trainCount).sort();
  const valIdx = order.slice(trainCount).sort();

  const build = (idx: Int32Array): TokenSplit => {
    const tokens = new Int32Array(idx.length * seqLen);
    const targets = new Int32Array(idx.length * seqLen).fill(IGNORE_INDEX);
    const answers = new Int32Array(idx.length);
    idx.forEach((r, i) => {
      tokens[i * seqLen] = rows[r * 4];
      tokens[i * seqLen + 1] = rows[r * 4 + 1];
      tokens[i * seqLen + 2] = rows[r * 4 + 2];
      tokens[i * seqLen + 3] = equalsToken;
      targets[i * seqLen + answerPosition] = answers[i] = rows[r * 4 + 3];
    });
    return { tokens, targets, answers, count: idx.length };
  };

  const tokenNames = [...Array.from({ length: p }, (_, i) => String(i)), ...MOD_OPS.map((op) => OP_NAMES[op]), '='];
  return {
    train: build(trainIdx),
    val: build(valIdx),
    p,
    ops: [...ops],
    seqLen,
    answerPosition,
    vocabSize: p + MOD_OPS.length + 1,
    tokenNames,
    opTokens,
    equalsToken,
  };
}
