// The WebGPU backend: tensors in pooled storage buffers, kernels in shaders/*.wgsl dispatched by
// one module per family beside this file. Only float32 and int32 live on the GPU.
import type {
  AdapterDescription,
  Backend,
  BackendInfo,
  BinaryOp,
  CholeskyResult,
  Conv2dGeometry,
  EighResult,
  FactorOptions,
  MatmulOptions,
  MemoryStats,
  ReduceOp,
  TriangularSolveOptions,
  UnaryOp,
} from '../backend.ts';
import { arrayFor, bytesPerElement, sizeOf, Tensor, type DType, type Shape, type TypedArray } from '../../tensor.ts';
import { checkReshape } from '../../shape-rules/shape.ts';
import { GPU_LIMITS } from './gpu-constants.ts';
import { GpuRuntime } from './runtime.ts';
import * as elementwise from './elementwise.ts';
import * as reduction from './reduce.ts';
import * as matmulKernels from './matmul.ts';
import * as layout from './layout.ts';
import * as factorKernels from './factor.ts';
import * as linalg from './linalg.ts';

export class DeviceLostError extends Error {
  constructor(reason: string) {
    super(`the WebGPU device was lost (${reason}); create a new backend to continue`);
    this.name = 'DeviceLostError';
  }
}

/** Reshaped tensors share one buffer; it goes back to the pool when the last of them is disposed. */
interface GpuTensorHandle {
  buffer: GPUBuffer;
  bytes: number;
  owners: { count: number };
}

export interface WebGPUBackendOptions {
  debug?: boolean;
  /** Bytes of free buffers kept for reuse (default 256 MiB). */
  maxPooledBytes?: number;
  driverNote?: string;
}

export class WebGPUBackend implements Backend {
  readonly name = 'webgpu' as const;
  readonly supportsFloat64 = false;
  readonly info: BackendInfo;
  readonly runtime: GpuRuntime;
  /** Set once the device is lost; every later op throws DeviceLostError. */
  lostReason: string | null = null;
  private live = new Set<Tensor>();
  private liveBytesCount = 0;

  static async create(adapter: GPUAdapter, options: WebGPUBackendOptions = {}): Promise<WebGPUBackend> {
    // Ask for the adapter's own limits: K-FAC factors and im2col buffers outgrow the defaults.
    const requiredLimits: Record<string, number> = {};
    for (const k of GPU_LIMITS) requiredLimits[k] = adapter.limits[k];
    const device = await adapter.requestDevice({ requiredLimits });
    return new WebGPUBackend(adapter, device, options);
  }

  constructor(
    adapter: GPUAdapter,
    readonly device: GPUDevice,
    options: WebGPUBackendOptions = {},
  ) {
    this.runtime = new GpuRuntime(device, options.debug ?? false, options.maxPooledBytes);
    const a = adapter.info;
    const description: AdapterDescription = {
      vendor: a.vendor,
      architecture: a.architecture,
      device: a.device,
      description: a.description,
      isFallbackAdapter: (a as { isFallbackAdapter?: boolean }).isFallbackAdapter ?? false,
    };
    const limits: Record<string, number> = {};
    for (const k of GPU_LIMITS) limits[k] = device.limits[k];
    const name = [description.vendor, description.architecture].filter(Boolean).join(' ') || 'unknown adapter';
    this.info = {
      name: 'webgpu',
      summary: `webgpu: ${name}${description.description ? ` (${description.description})` : ''}${options.driverNote ? ` via ${options.driverNote}` : ''}`,
      adapter: description,
      limits,
    };
    void device.lost.then((info) => {
      this.lostReason = info.message || info.reason || 'unknown';
    });
    // A validation error drops a whole command buffer silently; remember it so the next read
    // fails loudly instead of returning stale memory.
    device.addEventListener('uncapturederror', (event) => {
      this.pendingError ??= (event as GPUUncapturedErrorEvent).error.message;
    });
  }

  private pendingError: string | null = null;

  // ---- helpers for the kernel modules ----

  /** A new, uninitialised tensor (contents are whatever the pooled buffer held). */
  empty(shape: Shape, dtype: DType = 'float32'): Tensor {
    this.checkUsable();
    if (dtype === 'float64') throw new Error('WebGPU has no float64: use the CPU backend for float64 checks');
    const bytes = sizeOf(shape) * bytesPerElement(dtype);
    const handle: GpuTensorHandle = { buffer: this.runtime.pool.acquire(bytes), bytes, owners: { count: 0 } };
    return this.adopt(handle, shape, dtype);
  }

  private adopt(handle: GpuTensorHandle, shape: Shape, dtype: DType): Tensor {
    if (handle.owners.count++ === 0) this.liveBytesCount += handle.bytes;
    const t = new Tensor(this, shape, dtype, handle);
    this.live.add(t);
    return t;
  }

  bufferOf(t: Tensor): GPUBuffer {
    if (t.backend !== this) throw new Error(`${t} belongs to another backend`);
    return t.storage<GpuTensorHandle>().buffer;
  }

  // ---- creation and transfer ----

  tensor(values: ArrayLike<number>, shape: Shape, dtype: DType = 'float32'): Tensor {
    if (values.length !== sizeOf(shape)) throw new Error(`data of length ${values.length} does not fit shape [${shape.join(', ')}]`);
    const t = this.empty(shape, dtype);
    const data = arrayFor(dtype, values.length);
    data.set(values);
    if (data.length > 0) this.runtime.write(this.bufferOf(t), data);
    return t;
  }

  zeros(shape: Shape, dtype: DType = 'float32'): Tensor {
    const t = this.empty(shape, dtype);
    this.runtime.clear(this.bufferOf(t), t.size * 4);
    return t;
  }

  fill(shape: Shape, value: number, dtype: DType = 'float32'): Tensor {
    if (value === 0) return this.zeros(shape, dtype);
    const data = arrayFor(dtype, sizeOf(shape));
    data.fill(value);
    return this.tensor(data, shape, dtype);
  }

  async read(t: Tensor): Promise<TypedArray> {
    this.checkUsable();
    const { buffer, bytes } = t.storage<GpuTensorHandle>();
    if (bytes === 0) return arrayFor(t.dtype, 0);
    const raw = await this.runtime.read(buffer, bytes);
    this.checkUsable();
    return t.dtype === 'int32' ? new Int32Array(raw) : new Float32Array(raw);
  }

  reshape(t: Tensor, shape: Shape): Tensor {
    checkReshape(t.shape, shape);
    this.checkUsable();
    return this.adopt(t.storage<GpuTensorHandle>(), shape, t.dtype);
  }

  cast(t: Tensor, dtype: DType): Tensor {
    return elementwise.cast(this, t, dtype);
  }

  release(t: Tensor): void {
    if (!this.live.delete(t)) return;
    const handle = t.storage<GpuTensorHandle>();
    if (--handle.owners.count > 0) return;
    this.liveBytesCount -= handle.bytes;
    // Safe even if queued work still uses it: GPU work runs in submission order.
    this.runtime.pool.release(handle.buffer);
  }

  memory(): MemoryStats {
    return { liveTensors: this.live.size, liveBytes: this.liveBytesCount, pooledBuffers: this.runtime.pool.count };
  }

  async sync(): Promise<void> {
    this.checkUsable();
    await this.runtime.sync();
    this.checkUsable();
  }

  destroy(): void {
    for (const t of [...this.live]) t.dispose();
    this.runtime.destroy();
    this.device.destroy();
  }

  private checkUsable(): void {
    if (this.lostReason !== null) throw new DeviceLostError(this.lostReason);
    if (this.pendingError !== null) {
      const message = this.pendingError;
      this.pendingError = null;
      throw new Error(`WebGPU reported an error; results computed since then are invalid: ${message}`);
    }
  }

  // ---- kernels ----

  unary(op: UnaryOp, x: Tensor): Tensor {
    return elementwise.unary(this, op, x);
  }
  binary(op: BinaryOp, a: Tensor, b: Tensor): Tensor {
    return elementwise.binary(this, op, a, b);
  }
  binaryScalar(op: BinaryOp, x: Tensor, s: number, scalarFirst = false): Tensor {
    return elementwise.binaryScalar(this, op, x, s, scalarFirst);
  }
  where(cond: Tensor, a: Tensor, b: Tensor): Tensor {
    return elementwise.where(this, cond, a, b);
  }
  reduce(op: ReduceOp, x: Tensor, axis: number | null, keepDims = false): Tensor {
    return reduction.reduce(this, op, x, axis, keepDims);
  }
  argmax(x: Tensor, axis: number): Tensor {
    return reduction.argmax(this, x, axis);
  }
  softmax(x: Tensor): Tensor {
    return reduction.softmax(this, x, false);
  }
  logSoftmax(x: Tensor): Tensor {
    return reduction.softmax(this, x, true);
  }
  matmul(a: Tensor, b: Tensor, options: MatmulOptions = {}): Tensor {
    return matmulKernels.matmul(this, a, b, options);
  }
  permute(x: Tensor, perm: readonly number[]): Tensor {
    return layout.permute(this, x, perm);
  }
  slice(x: Tensor, begin: readonly number[], size: readonly number[]): Tensor {
    return layout.slice(this, x, begin, size);
  }
  concat(xs: readonly Tensor[], axis: number): Tensor {
    return layout.concat(this, xs, axis);
  }
  gather(x: Tensor, indices: Tensor): Tensor {
    return layout.gather(this, x, indices);
  }
  scatterAdd(src: Tensor, indices: Tensor, numRows: number): Tensor {
    return layout.scatterAdd(this, src, indices, numRows);
  }
  im2col(x: Tensor, geometry: Conv2dGeometry): Tensor {
    return layout.im2col(this, x, geometry);
  }
  col2im(cols: Tensor, inputShape: Shape, geometry: Conv2dGeometry): Tensor {
    return layout.col2im(this, cols, inputShape, geometry);
  }
  factor(x: Tensor, options: FactorOptions = {}): Tensor {
    return factorKernels.factor(this, x, options);
  }
  sharedReduce(x: Tensor, op: 'mean' | 'sum'): Tensor {
    return factorKernels.sharedReduce(this, x, op);
  }
  cholesky(a: Tensor): CholeskyResult {
    return linalg.cholesky(this, a);
  }
  triangularSolve(l: Tensor, b: Tensor, options: TriangularSolveOptions = {}): Tensor {
    return linalg.triangularSolve(this, l, b, options);
  }
  choleskyInverse(l: Tensor): Tensor {
    return linalg.choleskyInverse(this, l);
  }
  eigh(a: Tensor): EighResult {
    return linalg.eigh(this, a);
  }
}
