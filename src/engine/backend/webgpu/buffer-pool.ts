// Storage buffers pooled by power-of-two size class: a training loop allocates the same shapes
// every step, so after the first step it creates no new GPU buffers.
import { BufferUsage } from './gpu-constants.ts';

const STORAGE_USAGE = BufferUsage.STORAGE | BufferUsage.COPY_SRC | BufferUsage.COPY_DST;
const MIN_BYTES = 16;

export function sizeClass(bytes: number): number {
  let c = MIN_BYTES;
  while (c < bytes) c *= 2;
  return c;
}

export class BufferPool {
  private free = new Map<number, GPUBuffer[]>();
  private pooledCount = 0;
  private pooledBytes = 0;
  /** Over-budget buffers, destroyed only after the work that may use them has been submitted. */
  private retired: GPUBuffer[] = [];

  constructor(
    private readonly device: GPUDevice,
    /** Free buffers beyond this many bytes are destroyed instead of kept. */
    private readonly maxPooledBytes = 256 * 1024 * 1024,
  ) {}

  acquire(bytes: number): GPUBuffer {
    const size = sizeClass(bytes);
    const list = this.free.get(size);
    const reused = list?.pop();
    if (reused) {
      this.pooledCount--;
      this.pooledBytes -= size;
      return reused;
    }
    return this.device.createBuffer({ size, usage: STORAGE_USAGE });
  }

  release(buffer: GPUBuffer): void {
    if (this.pooledBytes + buffer.size > this.maxPooledBytes) {
      // Not destroy() now: a command encoder not yet submitted may reference it, and submitting a
      // destroyed buffer drops the whole command buffer.
      this.retired.push(buffer);
      return;
    }
    let list = this.free.get(buffer.size);
    if (!list) this.free.set(buffer.size, (list = []));
    list.push(buffer);
    this.pooledCount++;
    this.pooledBytes += buffer.size;
  }

  /** Call right after a queue submit: destroying a buffer used by submitted work is safe. */
  destroyRetired(): void {
    for (const b of this.retired) b.destroy();
    this.retired = [];
  }

  get count(): number {
    return this.pooledCount;
  }

  destroy(): void {
    this.destroyRetired();
    for (const list of this.free.values()) for (const b of list) b.destroy();
    this.free.clear();
    this.pooledCount = 0;
    this.pooledBytes = 0;
  }
}
