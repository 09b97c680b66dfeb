// The WebGPU runtime: pipeline cache, command batching and the one dispatch call every kernel
// module uses. Binding convention for every kernel (WGSL):
//   @group(0) @binding(0) var<uniform> params: <Params struct>;   (the `params` bytes)
//   @group(0) @binding(1..n) the storage buffers, in the order passed to dispatch().
import { BufferPool } from './buffer-pool.ts';
import { BufferUsage, MapMode } from './gpu-constants.ts';

export interface DispatchArgs {
  /** Cache key; defaults to the shader source itself. Include every `constants` value in it. */
  key?: string;
  shader: string;
  entryPoint?: string;
  /** Pipeline-overridable constants (WGSL `override`), part of the pipeline's identity. */
  constants?: Record<string, number>;
  /** Uniform bytes for binding 0 (padded to 16 bytes here). */
  params: ArrayBufferView | ArrayBuffer;
  buffers: GPUBuffer[];
  workgroups: readonly [number, number?, number?];
}

/** Dispatches per command buffer before we submit, so work starts while the CPU keeps encoding. */
const MAX_DISPATCHES_PER_SUBMIT = 128;
export const MAX_WORKGROUPS_PER_DIM = 65535;

export class GpuRuntime {
  readonly pool: BufferPool;
  private pipelines = new Map<string, GPUComputePipeline>();
  private encoder: GPUCommandEncoder | null = null;
  private pendingDispatches = 0;
  private uniformsInFlight: GPUBuffer[] = [];
  private uniformFree = new Map<number, GPUBuffer[]>();
  private stagingFree = new Map<number, GPUBuffer[]>();
  /** Counts for tests and benchmarks. */
  readonly counters = { dispatches: 0, submits: 0, pipelinesCompiled: 0 };

  constructor(
    readonly device: GPUDevice,
    private readonly debug = false,
    maxPooledBytes?: number,
  ) {
    this.pool = new BufferPool(device, maxPooledBytes);
  }

  pipeline(args: Pick<DispatchArgs, 'key' | 'shader' | 'entryPoint' | 'constants'>): GPUComputePipeline {
    const entryPoint = args.entryPoint ?? 'main';
    const constantsKey = args.constants ? JSON.stringify(args.constants) : '';
    const key = `${args.key ?? args.shader}\u0000${entryPoint}\u0000${constantsKey}`;
    let p = this.pipelines.get(key);
    if (!p) {
      if (this.debug) this.device.pushErrorScope('validation');
      const module = this.device.createShaderModule({ code: args.shader });
      p = this.device.createComputePipeline({
        layout: 'auto',
        compute: { module, entryPoint, ...(args.constants ? { constants: args.constants } : {}) },
      });
      if (this.debug) {
        void this.device.popErrorScope().then((err) => {
          if (err) console.error(`WebGPU pipeline "${args.key ?? entryPoint}" failed: ${err.message}`);
        });
      }
      this.pipelines.set(key, p);
      this.counters.pipelinesCompiled++;
    }
    return p;
  }

  dispatch(args: DispatchArgs): void {
    const [x, y = 1, z = 1] = args.workgroups;
    if (x === 0 || y === 0 || z === 0) return; // empty tensors: nothing to do
    if (x > MAX_WORKGROUPS_PER_DIM || y > MAX_WORKGROUPS_PER_DIM || z > MAX_WORKGROUPS_PER_DIM) {
      throw new Error(`dispatch of [${x}, ${y}, ${z}] workgroups exceeds ${MAX_WORKGROUPS_PER_DIM} per dimension`);
    }
    const pipeline = this.pipeline(args);
    const uniform = this.uniformBuffer(args.params);
    const entries: GPUBindGroupEntry[] = [{ binding: 0, resource: { buffer: uniform } }];
    args.buffers.forEach((buffer, i) => entries.push({ binding: i + 1, resource: { buffer } }));
    const bindGroup = this.device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries });
    const pass = this.currentEncoder().beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(x, y, z);
    pass.end();
    this.counters.dispatches++;
    if (++this.pendingDispatches >= MAX_DISPATCHES_PER_SUBMIT) this.flush();
  }

  /** Zero a buffer range in queue order with the dispatches around it. */
  clear(buffer: GPUBuffer, bytes: number): void {
    this.currentEncoder().clearBuffer(buffer, 0, align4(bytes));
  }

  copy(src: GPUBuffer, dst: GPUBuffer, bytes: number): void {
    this.currentEncoder().copyBufferToBuffer(src, 0, dst, 0, align4(bytes));
  }

  /**
   * Upload host data. queue.writeBuffer runs before any command buffer submitted after it, so we
   * first submit what is pending: the buffer may be a pooled one that queued work still reads.
   */
  write(buffer: GPUBuffer, data: ArrayBufferView): void {
    this.flush();
    this.device.queue.writeBuffer(buffer, 0, data.buffer, data.byteOffset, align4(data.byteLength));
  }

  async read(buffer: GPUBuffer, bytes: number): Promise<ArrayBuffer> {
    const size = Math.max(16, align4(bytes));
    const staging = this.takeStaging(size);
    this.currentEncoder().copyBufferToBuffer(buffer, 0, staging, 0, size);
    this.flush();
    await staging.mapAsync(MapMode.READ, 0, size);
    const copy = staging.getMappedRange(0, size).slice(0, bytes);
    staging.unmap();
    this.giveBackStaging(staging);
    return copy;
  }

  flush(): void {
    if (!this.encoder) return;
    this.device.queue.submit([this.encoder.finish()]);
    this.counters.submits++;
    this.encoder = null;
    this.pendingDispatches = 0;
    this.pool.destroyRetired();
    // Uniform buffers of submitted work can be rewritten: writeBuffer is ordered after this submit.
    for (const u of this.uniformsInFlight) pushTo(this.uniformFree, u.size, u);
    this.uniformsInFlight = [];
  }

  async sync(): Promise<void> {
    this.flush();
    await this.device.queue.onSubmittedWorkDone();
  }

  destroy(): void {
    this.encoder = null;
    this.pool.destroy();
    for (const map of [this.uniformFree, this.stagingFree]) for (const l of map.values()) for (const b of l) b.destroy();
    for (const b of this.uniformsInFlight) b.destroy();
    this.pipelines.clear();
  }

  private currentEncoder(): GPUCommandEncoder {
    return (this.encoder ??= this.device.createCommandEncoder());
  }

  private uniformBuffer(params: ArrayBufferView | ArrayBuffer): GPUBuffer {
    const view =
      params instanceof ArrayBuffer ? new Uint8Array(params) : new Uint8Array(params.buffer, params.byteOffset, params.byteLength);
    const size = Math.max(16, Math.ceil(view.byteLength / 16) * 16);
    const buffer =
      this.uniformFree.get(size)?.pop() ?? this.device.createBuffer({ size, usage: BufferUsage.UNIFORM | BufferUsage.COPY_DST });
    const padded = new Uint8Array(size);
    padded.set(view);
    this.device.queue.writeBuffer(buffer, 0, padded);
    this.uniformsInFlight.push(buffer);
    return buffer;
  }

  private takeStaging(size: number): GPUBuffer {
    return this.stagingFree.get(size)?.pop() ?? this.device.createBuffer({ size, usage: BufferUsage.MAP_READ | BufferUsage.COPY_DST });
  }

  private giveBackStaging(b: GPUBuffer): void {
    pushTo(this.stagingFree, b.size, b);
  }
}

function pushTo<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  let list = map.get(key);
  if (!list) map.set(key, (list = []));
  list.push(value);
}

export function align4(bytes: number): number {
  return Math.ceil(bytes / 4) * 4;
}

/**
 * A 1-D launch of `count` invocations as a 2-D grid that respects the per-dimension limit.
 * Kernels recover the linear index as `gid.x + gid.y * rowStride` with `rowStride = x * workgroupSize`,
 * and return when it is ≥ count.
 */
export function linearGrid(count: number, workgroupSize: number): { workgroups: [number, number]; rowStride: number } {
  const groups = Math.max(1, Math.ceil(count / workgroupSize));
  const x = Math.min(groups, MAX_WORKGROUPS_PER_DIM);
  const y = Math.ceil(groups / x);
  return { workgroups: [x, y], rowStride: x * workgroupSize };
}

/** Builds a uniform block from u32/i32/f32 fields, in declaration order (each 4 bytes). */
export class ParamWriter {
  private words: { kind: 'u32' | 'i32' | 'f32'; value: number }[] = [];
  u32(...v: number[]): this {
    for (const x of v) this.words.push({ kind: 'u32', value: x });
    return this;
  }
  i32(...v: number[]): this {
    for (const x of v) this.words.push({ kind: 'i32', value: x });
    return this;
  }
  f32(...v: number[]): this {
    for (const x of v) this.words.push({ kind: 'f32', value: x });
    return this;
  }
  bytes(): ArrayBuffer {
    const buf = new ArrayBuffer(Math.max(16, Math.ceil((this.words.length * 4) / 16) * 16));
    const dv = new DataView(buf);
    this.words.forEach((w, i) => {
      if (w.kind === 'u32') dv.setUint32(i * 4, w.value, true);
      else if (w.kind === 'i32') dv.setInt32(i * 4, w.value, true);
      else dv.setFloat32(i * 4, w.value, true);
    });
    return buf;
  }
}
