import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { drawLoop, throttle } from '../../src/ui/charts/throttle.ts';

describe('throttle', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('merges requests into one call per interval', () => {
    const fn = vi.fn();
    const t = throttle(fn, 100);
    t.request();
    t.request();
    expect(fn).not.toHaveBeenCalled();
    vi.advanceTimersByTime(0);
    expect(fn).toHaveBeenCalledTimes(1);
    t.request();
    vi.advanceTimersByTime(99);
    expect(fn).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(1);
    expect(fn).toHaveBeenCalledTimes(2);
    t.request();
    t.dispose();
    vi.advanceTimersByTime(500);
    expect(fn).toHaveBeenCalledTimes(2);
  });
});

describe('drawLoop', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('never overlaps draws and redraws once after a request made mid-draw', async () => {
    let active = 0;
    let maxActive = 0;
    let finish: (() => void) | null = null;
    const draw = vi.fn(
      () =>
        new Promise<void>((resolve) => {
          active++;
          maxActive = Math.max(maxActive, active);
          finish = () => {
            active--;
            resolve();
          };
        }),
    );
    const loop = drawLoop(draw, 100, () => {});
    loop.request();
    await vi.advanceTimersByTimeAsync(0);
    expect(draw).toHaveBeenCalledTimes(1);
    loop.request();
    loop.request();
    await vi.advanceTimersByTimeAsync(500); // the first draw is still running
    expect(draw).toHaveBeenCalledTimes(1);
    finish!();
    await vi.advanceTimersByTimeAsync(0);
    expect(draw).toHaveBeenCalledTimes(2);
    finish!();
    await vi.advanceTimersByTimeAsync(1000);
    expect(draw).toHaveBeenCalledTimes(2);
    expect(maxActive).toBe(1);
    loop.dispose();
  });

  it('reports a failed draw and keeps going', async () => {
    const onError = vi.fn();
    let fail = true;
    const draw = vi.fn(async () => {
      if (fail) throw new Error('boom');
    });
    const loop = drawLoop(draw, 100, onError);
    loop.request();
    await vi.advanceTimersByTimeAsync(0);
    expect(onError).toHaveBeenCalledTimes(1);
    fail = false;
    loop.request();
    await vi.advanceTimersByTimeAsync(100);
    expect(draw).toHaveBeenCalledTimes(2);
    loop.dispose();
  });
});
