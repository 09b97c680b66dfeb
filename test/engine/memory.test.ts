// The memory idiom: scope/keep for synchronous work, TensorArena for tensors that must live across
// awaits, readAndDispose for a value read once. Counted with the backend's live-tensor tally.
import { describe, expect, it } from 'vitest';
import { CpuBackend } from '../../src/engine/backend/cpu/cpu-backend.ts';
import { keep, readAndDispose, scope, TensorArena } from '../../src/engine/tensor.ts';

describe('TensorArena', () => {
  it('holds what each run created across awaits, frees it on dispose, and lets released tensors go', async () => {
    const be = new CpuBackend();
    const before = be.memory().liveTensors;
    const arena = new TensorArena();
    const x = arena.run(() => be.binaryScalar('mul', be.tensor([1, 2, 3], [3]), 2));
    await Promise.resolve();
    const y = arena.run(() => be.binary('add', x, x));
    expect(arena.size).toBe(3); // the upload, x and y
    expect(Array.from(await y.read())).toEqual([4, 8, 12]);
    const kept = arena.release(y);
    arena.dispose();
    expect(arena.size).toBe(0);
    expect(x.isDisposed).toBe(true);
    expect(kept.isDisposed).toBe(false);
    expect(Array.from(await readAndDispose(kept))).toEqual([4, 8, 12]);
    expect(be.memory().liveTensors).toBe(before);
    be.destroy();
  });

  it('a throwing run frees its own tensors and keeps the earlier ones', () => {
    const be = new CpuBackend();
    const arena = new TensorArena();
    arena.run(() => be.zeros([2]));
    expect(() =>
      arena.run(() => {
        be.zeros([3]);
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(arena.size).toBe(1);
    expect(be.memory().liveTensors).toBe(1);
    arena.dispose();
    expect(be.memory().liveTensors).toBe(0);
    be.destroy();
  });

  it('refuses an async fn, as scope does', () => {
    const arena = new TensorArena();
    expect(() => arena.run(async () => 1)).toThrow(/TensorArena.run\(fn\): fn must be synchronous/);
  });

  it('nests with scope: a tensor kept inside a run is not the arena’s', () => {
    const be = new CpuBackend();
    const arena = new TensorArena();
    const outside = arena.run(() => scope(() => keep(be.zeros([1]))));
    expect(arena.size).toBe(0);
    arena.dispose();
    expect(outside.isDisposed).toBe(false);
    outside.dispose();
    be.destroy();
  });
});

describe('readAndDispose', () => {
  it('reads the values and frees the tensor, also when the read fails', async () => {
    const be = new CpuBackend();
    const t = be.tensor([1, 2, 3], [3]);
    expect(Array.from(await readAndDispose(t))).toEqual([1, 2, 3]);
    expect(t.isDisposed).toBe(true);
    const u = be.tensor([4], [1]);
    const failing = Object.assign(u, { read: () => Promise.reject(new Error('device lost')) });
    await expect(readAndDispose(failing)).rejects.toThrow('device lost');
    expect(u.isDisposed).toBe(true);
    be.destroy();
  });
});
