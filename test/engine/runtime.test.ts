import { describe, expect, it } from 'vitest';
import { scope } from '../../src/engine/tensor.ts';
import { createBackend, requestWebGPU } from '../../src/engine/backend/create-backend.ts';
import { GPU_LIMITS } from '../../src/engine/backend/webgpu/gpu-constants.ts';
import { useBackends } from '../helpers/backends.ts';

const b = useBackends();

describe('tensors on both backends', () => {
  for (const which of ['cpu', 'gpu'] as const) {
    it(`${which}: upload, read back, reshape, zeros, fill, int32`, async () => {
      const be = b[which];
      const t = be.tensor([1, 2, 3, 4, 5, 6], [2, 3]);
      expect(Array.from(await t.read())).toEqual([1, 2, 3, 4, 5, 6]);
      const r = be.reshape(t, [3, 2]);
      expect(r.shape).toEqual([3, 2]);
      t.dispose();
      expect(Array.from(await r.read())).toEqual([1, 2, 3, 4, 5, 6]); // view survives its sibling
      r.dispose();
      expect(Array.from(await be.zeros([5]).read())).toEqual([0, 0, 0, 0, 0]);
      expect(Array.from(await be.fill([3], 2.5).read())).toEqual([2.5, 2.5, 2.5]);
      const i = be.tensor([-3, 0, 7], [3], 'int32');
      const got = await i.read();
      expect(got).toBeInstanceOf(Int32Array);
      expect(Array.from(got)).toEqual([-3, 0, 7]);
      expect(() => be.tensor([1, 2], [3])).toThrow(/does not fit/);
    });

    it(`${which}: a scope releases temporaries and keeps what it returns`, () => {
      const be = b[which];
      const before = be.memory().liveTensors;
      const kept = scope(() => {
        be.zeros([4]);
        be.fill([4], 1);
        return be.zeros([2]);
      });
      expect(be.memory().liveTensors).toBe(before + 1);
      kept.dispose();
      expect(be.memory().liveTensors).toBe(before);
      expect(() => kept.storage()).toThrow(/after dispose/);
    });
  }

  it('cpu keeps float64', async () => {
    const t = b.cpu.tensor([1 / 3], [1], 'float64');
    expect((await t.read())[0]).toBe(1 / 3);
    expect(() => b.gpu.zeros([1], 'float64')).toThrow(/float64/);
  });
});

describe('the WebGPU buffer pool', () => {
  it('keeps results right when freed buffers exceed the pool budget while work is pending', async () => {
    // Budget 0: every released buffer is retired. Destroying one that an unsubmitted command
    // encoder still uses would drop the whole command buffer and leave stale memory behind.
    const be = await requestWebGPU({ maxPooledBytes: 0 });
    let x = be.tensor([1, 2, 3, 4], [4]);
    for (let i = 0; i < 10; i++) {
      const next = be.binaryScalar('add', x, 1);
      x.dispose();
      x = next;
    }
    const stale = be.tensor([-1], [1]);
    await stale.read();
    stale.dispose();
    const total = be.reduce('sum', x, null);
    x.dispose();
    expect(Array.from(await total.read())).toEqual([50]);
    be.destroy();
  });
});

describe('createBackend', () => {
  it('prefers WebGPU and reports the adapter', async () => {
    const be = await createBackend({ prefer: 'webgpu', requireWebGPU: true });
    expect(be.name).toBe('webgpu');
    expect(be.info.summary).toMatch(/webgpu/);
    expect(be.info.limits?.maxStorageBufferBindingSize).toBeGreaterThan(0);
    // The limits reported are exactly the one list the backend also requests, each a positive number.
    expect(Object.keys(be.info.limits ?? {})).toEqual([...GPU_LIMITS]);
    for (const k of GPU_LIMITS) expect(be.info.limits?.[k], k).toBeGreaterThan(0);
    be.destroy();
  });
  it('gives the CPU backend when asked', async () => {
    const be = await createBackend({ prefer: 'cpu' });
    expect(be.name).toBe('cpu');
    expect(be.info.fallbackReason).toBeUndefined();
  });
});
