// Tensor = shape + dtype + a backend-owned buffer. Memory is explicit: call dispose(), or create
// temporaries inside scope() so that everything not returned is released when the scope ends.
import type { Backend } from './backend/backend.ts';

export type DType = 'float32' | 'int32' | 'float64';
export type Shape = readonly number[];
export type TypedArray = Float32Array | Int32Array | Float64Array;

export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function bytesPerElement(dtype: DType): number {
  return dtype === 'float64' ? 8 : 4;
}

export function arrayFor(dtype: DType, length: number): TypedArray {
  if (dtype === 'float64') return new Float64Array(length);
  if (dtype === 'int32') return new Int32Array(length);
  return new Float32Array(length);
}

export function shapeToString(shape: Shape): string {
  return `[${shape.join(', ')}]`;
}

export class DisposedTensorError extends Error {
  constructor(shape: Shape) {
    super(`tensor ${shapeToString(shape)} was used after dispose()`);
    this.name = 'DisposedTensorError';
  }
}

let nextTensorId = 1;

export class Tensor {
  readonly id = nextTensorId++;
  readonly size: number;
  private disposed = false;

  /** Backends create tensors; user code asks a backend (`backend.tensor(...)`), not this constructor. */
  constructor(
    readonly backend: Backend,
    readonly shape: Shape,
    readonly dtype: DType,
    /** The backend's own handle (a typed array on the CPU, a pooled GPUBuffer on WebGPU). */
    private readonly handle: unknown,
  ) {
    for (const d of shape) {
      if (!Number.isInteger(d) || d < 0) throw new Error(`invalid tensor shape ${shapeToString(shape)}`);
    }
    this.size = sizeOf(shape);
    trackInCurrentScope(this);
  }

  get rank(): number {
    return this.shape.length;
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  /** The backend handle; throws if the tensor was disposed (catches use-after-free early). */
  storage<T>(): T {
    if (this.disposed) throw new DisposedTensorError(this.shape);
    return this.handle as T;
  }

  /** Copy the values to the host. On WebGPU this waits for queued work. */
  read(): Promise<TypedArray> {
    return this.backend.read(this);
  }

  dispose(): void {
    if (this.disposed) return;
    this.backend.release(this); // the backend still reads the handle
    this.disposed = true;
  }

  toString(): string {
    return `Tensor(${shapeToString(this.shape)}, ${this.dtype}, ${this.backend.name})`;
  }
}

// ---- scopes ---------------------------------------------------------------------------------

const scopeStack: Set<Tensor>[] = [];

function trackInCurrentScope(t: Tensor): void {
  scopeStack[scopeStack.length - 1]?.add(t);
}

function collectTensors(value: unknown, into: Set<Tensor>): void {
  if (value instanceof Tensor) into.add(value);
  else if (ArrayBuffer.isView(value))
    return; // host data: nothing to keep, and too many entries to walk
  else if (Array.isArray(value)) for (const v of value) collectTensors(v, into);
  else if (value !== null && typeof value === 'object') for (const v of Object.values(value)) collectTensors(v, into);
}

/**
 * Run `fn`; every tensor created inside and not reachable from its result is disposed when it
 * returns (or throws). Returned tensors move to the enclosing scope. Synchronous on purpose:
 * WebGPU ops only enqueue work, so a training step needs no await inside a scope, and an async
 * scope would mix up tensors of interleaved tasks.
 */
export function scope<T>(fn: () => T): T {
  const { result, created } = collectScope(fn, 'scope');
  const kept = new Set<Tensor>();
  collectTensors(result, kept);
  for (const t of created) {
    if (kept.has(t)) trackInCurrentScope(t);
    else t.dispose();
  }
  return result;
}

/**
 * The core of scope() and TensorArena.run (the public helpers): every tensor created inside fn and
 * still alive (not kept) is handed back, untracked. fn is synchronous for the same reason as
 * scope's; on a throw its tensors are disposed.
 */
function collectScope<T>(fn: () => T, caller = 'collectScope'): { result: T; created: Tensor[] } {
  const created = new Set<Tensor>();
  scopeStack.push(created);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    scopeStack.pop();
    for (const t of created) t.dispose();
    throw e;
  }
  scopeStack.pop();
  if (result instanceof Promise) {
    for (const t of created) t.dispose();
    throw new Error(`${caller}(fn): fn must be synchronous (it returned a Promise)`);
  }
  return { result, created: [...created].filter((t) => !t.isDisposed) };
}

/** Exempt a tensor from the current scope's clean-up (it moves to no scope at all). */
export function keep<T extends Tensor>(t: T): T {
  for (const s of scopeStack) s.delete(t);
  return t;
}

/**
 * Tensors that must outlive one synchronous block, e.g. a training step's autograd graph kept
 * across the `await backend.sync()` between its timed phases: each run(fn) is a collectScope whose
 * surviving tensors the arena holds until dispose(). The one helper for that case; synchronous
 * work uses scope() and keep().
 */
export class TensorArena {
  private readonly tensors = new Set<Tensor>();

  /** Run fn (synchronous) and hold every tensor it created that is still alive. */
  run<T>(fn: () => T): T {
    const { result, created } = collectScope(fn, 'TensorArena.run');
    for (const t of created) this.tensors.add(t);
    return result;
  }

  /** Hand a tensor to the caller: dispose() will not free it. */
  release<T extends Tensor>(t: T): T {
    this.tensors.delete(t);
    return t;
  }

  /** Tensors held now. */
  get size(): number {
    return this.tensors.size;
  }

  dispose(): void {
    for (const t of this.tensors) t.dispose();
    this.tensors.clear();
  }
}

/** Read a tensor to the host, then dispose it, also when the read fails. */
export async function readAndDispose(t: Tensor): Promise<TypedArray> {
  try {
    return await t.read();
  } finally {
    t.dispose();
  }
}
