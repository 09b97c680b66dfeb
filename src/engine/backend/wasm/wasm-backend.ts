// The WASM backend: the fast CPU backend. float32 (and int32 for indices) tensors in one growable
// WebAssembly linear memory (wasm-heap.ts); kernels are AssemblyScript compiled to WebAssembly with
// 128-bit SIMD (assembly/*.ts, built by scripts/build-wasm.mjs). The reference CpuBackend stays the
// oracle every kernel here is tested against (test/kernels/wasm-*.test.ts). Kernel dispatch lives in
// one module per family beside this file; shape rules are the shared ones in src/engine/shape-rules/.
import type {
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
import { sizeOf, Tensor, type DType, type Shape, type TypedArray } from '../../tensor.ts';
import { checkReshape } from '../../shape-rules/shape.ts';
import { instantiateKernels, type WasmKernels } from './wasm-module.ts';
import { WasmHeap, wordIndex } from './wasm-heap.ts';
import * as elementwise from './elementwise.ts';
import * as reduction from './reduce.ts';
import * as matmulKernels from './matmul.ts';
import * as layout from './layout.ts';
import * as factorKernels from './factor.ts';
import * as linalg from './linalg.ts';

/** A block of linear memory shared by a tensor and its reshapes; freed when the last one is released. */
interface WasmBuffer {
  ptr: number;
  capacity: number;
  bytes: number;
  refs: number;
}

/** Bytes for the int32 dims/strides plans handed to the strided kernels (rank ≤ 16, four arrays). */
const PLAN_BYTES = 4 * 16 * 4;

export class WasmBackend implements Backend {
  readonly name = 'wasm' as const;
  readonly supportsFloat64 = false;
  readonly info: BackendInfo;
  readonly kernels: WasmKernels;
  readonly heap: WasmHeap;
  private readonly live = new Set<Tensor>();
  private destroyed = false;
  private planPtr: number;
  private scratchPtr = 0;
  private scratchCapacity = 0;

  constructor(fallbackReason?: string) {
    this.kernels = instantiateKernels();
    this.heap = new WasmHeap(this.kernels.memory, this.kernels.heapBase());
    this.planPtr = this.heap.allocate(PLAN_BYTES).ptr;
    this.info = {
      name: 'wasm',
      summary: fallbackReason ? `wasm (SIMD, 1 thread; WebGPU unavailable: ${fallbackReason})` : 'wasm (SIMD, 1 thread)',
      ...(fallbackReason ? { fallbackReason } : {}),
    };
  }

  // ---- helpers for the kernel modules ----

  /** A new tensor over fresh (uninitialised) memory; kernels write every element. */
  alloc(shape: Shape, dtype: DType): { tensor: Tensor; ptr: number } {
    if (this.destroyed) throw new Error('wasm backend: used after destroy()');
    if (dtype === 'float64') throw new Error('the WASM backend has no float64: use the CPU backend for float64 checks');
    const bytes = sizeOf(shape) * 4;
    const { ptr, capacity } = this.heap.allocate(bytes);
    const buffer: WasmBuffer = { ptr, capacity, bytes, refs: 1 };
    const tensor = new Tensor(this, shape, dtype, buffer);
    this.live.add(tensor);
    return { tensor, ptr };
  }

  /** Byte address of a tensor's data. */
  ptr(t: Tensor): number {
    if (t.backend !== this) throw new Error(`${t} belongs to another backend`);
    return t.storage<WasmBuffer>().ptr;
  }

  /** A view of a tensor's elements (valid until the next allocation). */
  view(t: Tensor): Float32Array | Int32Array {
    const p = this.ptr(t);
    return t.dtype === 'int32' ? this.heap.i32At(p, t.size) : this.heap.f32At(p, t.size);
  }

  /** Scratch memory for one kernel call (reused; valid until the next call to scratch()). */
  scratch(bytes: number): number {
    if (bytes > this.scratchCapacity) {
      if (this.scratchCapacity > 0) this.heap.free(this.scratchPtr, this.scratchCapacity);
      const block = this.heap.allocate(bytes);
      this.scratchPtr = block.ptr;
      this.scratchCapacity = block.capacity;
    }
    return this.scratchPtr;
  }

  /** Write int32 plan arrays (dims, then strides per operand) into the plan area; returns its address. */
  plan(...arrays: readonly (readonly number[])[]): number {
    const flat = arrays.flat();
    if (flat.length > PLAN_BYTES / 4)
      throw new Error(`wasm backend: a kernel plan of rank ${arrays[0].length} is too large (at most 16 dims)`);
    this.heap.i32At(this.planPtr, flat.length).set(flat);
    return this.planPtr;
  }

  // ---- creation and transfer ----

  tensor(values: ArrayLike<number>, shape: Shape, dtype: DType = 'float32'): Tensor {
    if (values.length !== sizeOf(shape)) throw new Error(`data of length ${values.length} does not fit shape [${shape.join(', ')}]`);
    const { tensor } = this.alloc(shape, dtype);
    this.view(tensor).set(values);
    return tensor;
  }

  zeros(shape: Shape, dtype: DType = 'float32'): Tensor {
    return this.fill(shape, 0, dtype);
  }

  fill(shape: Shape, value: number, dtype: DType = 'float32'): Tensor {
    const { tensor } = this.alloc(shape, dtype);
    this.view(tensor).fill(value);
    return tensor;
  }

  async read(t: Tensor): Promise<TypedArray> {
    return this.view(t).slice();
  }

  /** Synchronous read (tests and oracles). */
  readSync(t: Tensor): TypedArray {
    return this.view(t).slice();
  }

  reshape(t: Tensor, shape: Shape): Tensor {
    checkReshape(t.shape, shape);
    const buffer = t.storage<WasmBuffer>();
    if (t.backend !== this) throw new Error(`${t} belongs to another backend`);
    buffer.refs++;
    const out = new Tensor(this, shape, t.dtype, buffer);
    this.live.add(out);
    return out;
  }

  cast(t: Tensor, dtype: DType): Tensor {
    const { tensor, ptr } = this.alloc(t.shape, dtype);
    const src = this.ptr(t);
    if (t.dtype === dtype) this.heap.i32.copyWithin(wordIndex(ptr), wordIndex(src), wordIndex(src) + t.size);
    else if (dtype === 'int32') this.kernels.castF32ToI32(src, ptr, t.size);
    else this.kernels.castI32ToF32(src, ptr, t.size);
    return tensor;
  }

  release(t: Tensor): void {
    if (!this.live.delete(t)) return;
    const buffer = t.storage<WasmBuffer>();
    if (--buffer.refs === 0) this.heap.free(buffer.ptr, buffer.capacity);
  }

  memory(): MemoryStats {
    const buffers = new Set<WasmBuffer>();
    for (const t of this.live) buffers.add(t.storage<WasmBuffer>());
    let liveBytes = 0;
    for (const b of buffers) liveBytes += b.bytes;
    return { liveTensors: this.live.size, liveBytes, pooledBuffers: this.heap.pooledBlocks };
  }

  async sync(): Promise<void> {}

  destroy(): void {
    for (const t of [...this.live]) t.dispose();
    this.destroyed = true;
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
