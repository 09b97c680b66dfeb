// Seeded initialisers (host side; values are uploaded once).
import { Rng } from '../random.ts';

export type InitKind = 'kaiming-uniform' | 'kaiming-normal' | 'xavier-uniform' | 'xavier-normal' | 'trunc-normal' | 'zeros' | 'ones';

/**
 * Values for a weight with fan-in `fanIn` and fan-out `fanOut`.
 * kaiming: He et al. for ReLU (gain √2); xavier: Glorot; trunc-normal: N(0, std²) cut at ±2 std (ViT default, std 0.02).
 */
export function initValues(kind: InitKind, count: number, fanIn: number, fanOut: number, seed: number, std = 0.02): Float64Array {
  const rng = new Rng(seed);
  const out = new Float64Array(count);
  switch (kind) {
    case 'zeros':
      return out;
    case 'ones':
      return out.fill(1);
    case 'kaiming-uniform': {
      const bound = Math.sqrt(6 / fanIn);
      for (let i = 0; i < count; i++) out[i] = rng.uniform(-bound, bound);
      return out;
    }
    case 'kaiming-normal': {
      const s = Math.sqrt(2 / fanIn);
      for (let i = 0; i < count; i++) out[i] = s * rng.normal();
      return out;
    }
    case 'xavier-uniform': {
      const bound = Math.sqrt(6 / (fanIn + fanOut));
      for (let i = 0; i < count; i++) out[i] = rng.uniform(-bound, bound);
      return out;
    }
    case 'xavier-normal': {
      const s = Math.sqrt(2 / (fanIn + fanOut));
      for (let i = 0; i < count; i++) out[i] = s * rng.normal();
      return out;
    }
    case 'trunc-normal': {
      for (let i = 0; i < count; i++) {
        let z = rng.normal();
        while (Math.abs(z) > 2) z = rng.normal();
        out[i] = std * z;
      }
      return out;
    }
  }
}

/** A child seed derived from a parent seed and a name, so adding a layer does not reshuffle the others. */
export function deriveSeed(seed: number, name: string): number {
  let h = (seed ^ 0x811c9dc5) >>> 0;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}
