// Instantiates the WebAssembly kernels (assembly/*.ts, built by scripts/build-wasm.mjs into a
// base64 module) synchronously, so a WasmBackend can be made with `new`. The same code runs in the
// browser, in a Web Worker and in Node: the binary travels inside the JavaScript bundle.
import { KERNELS_WASM_BASE64 } from './generated/kernels-wasm.ts';

/** The kernel exports (pointers are byte offsets into `memory`; see assembly/*.ts for each contract). */
export interface WasmKernels {
  memory: WebAssembly.Memory;
  heapBase(): number;
  matmulScratchBytes(): number;
  matmul(
    a: number,
    aRow: number,
    aCol: number,
    b: number,
    bRow: number,
    bCol: number,
    c: number,
    m: number,
    n: number,
    k: number,
    scratch: number,
  ): void;
  unary(op: number, x: number, out: number, n: number): void;
  binaryRow(op: number, a: number, sa: number, b: number, sb: number, out: number, n: number): void;
  binaryStrided(op: number, rank: number, dims: number, a: number, b: number, out: number): void;
  binaryScalar(op: number, x: number, s: number, scalarFirst: boolean, out: number, n: number): void;
  whereStrided(rank: number, dims: number, cond: number, condIsInt: boolean, a: number, b: number, out: number): void;
  castF32ToI32(x: number, out: number, n: number): void;
  castI32ToF32(x: number, out: number, n: number): void;
  reduce(op: number, x: number, out: number, outer: number, axisLen: number, inner: number, scratch: number): void;
  argmax(x: number, out: number, outer: number, axisLen: number, inner: number): void;
  softmax(x: number, out: number, rows: number, rowLen: number, log: boolean): void;
  stridedCopy(rank: number, dims: number, src: number, dst: number): void;
  gatherRows(x: number, indices: number, out: number, m: number, cols: number): void;
  scatterAddRows(src: number, indices: number, out: number, m: number, cols: number, numRows: number): void;
  patches(geometry: number, x: number, cols: number, toCols: boolean): void;
  scaleRows(x: number, w: number, out: number, rows: number, cols: number): void;
  symmetrize(g: number, c: number, d: number, alpha: number, beta: number): void;
  cholesky(a: number, out: number, status: number, batch: number, n: number, minPivot: number, scratch: number): void;
  triangularSolve(l: number, b: number, out: number, batch: number, n: number, k: number, transpose: boolean, scratch: number): void;
  choleskyInverse(l: number, out: number, batch: number, n: number, scratch: number): void;
  eigh(a: number, values: number, vectors: number, batch: number, n: number, scratch: number): void;
}

let compiled: WebAssembly.Module | null = null;

function decodeBase64(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** Why this engine cannot run the kernels (no WebAssembly, or no 128-bit SIMD), or null when it can. */
export function wasmUnavailableReason(): string | null {
  if (typeof WebAssembly === 'undefined') return 'this JavaScript engine has no WebAssembly';
  try {
    kernelModule();
    return null;
  } catch (e) {
    return `the WebAssembly SIMD kernels failed to compile (${(e as Error).message}); WebAssembly 128-bit SIMD needs Chrome 91+, Firefox 89+, Safari 16.4+ or Node 16.4+`;
  }
}

function kernelModule(): WebAssembly.Module {
  compiled ??= new WebAssembly.Module(decodeBase64(KERNELS_WASM_BASE64));
  return compiled;
}

/** A fresh instance with its own linear memory (one per backend). */
export function instantiateKernels(): WasmKernels {
  const instance = new WebAssembly.Instance(kernelModule(), {});
  return instance.exports as unknown as WasmKernels;
}
