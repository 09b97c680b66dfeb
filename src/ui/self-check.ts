// The start-up self-check: a few seeded matmuls on every available backend, each compared with an
// independent float64 reference computed here, plus WebGPU against the CPU backend. Framework-free
// so it can move into the engine worker unchanged once the worker exists.
import type { Backend, BackendName, MatmulOptions } from '../engine/backend/backend.ts';
import { Rng } from '../engine/random.ts';
import { sizeOf, type Shape, type Tensor } from '../engine/tensor.ts';
import { arrayError } from '../engine/compare.ts';

export interface SelfCheckCase {
  id: string;
  label: string;
  a: Shape;
  b: Shape;
  options: MatmulOptions;
}

/** Odd sizes on purpose: none is a multiple of a typical 4, 8, 16 or 64 tile. */
export const SELF_CHECK_CASES: readonly SelfCheckCase[] = [
  { id: 'square-64', label: '64×64 · 64×64', a: [64, 64], b: [64, 64], options: {} },
  { id: 'transB-17-63-130', label: '17×63 · (130×63)ᵀ', a: [17, 63], b: [130, 63], options: { transB: true } },
  { id: 'batched-3-33-65-17', label: '3 × (33×65 · 65×17)', a: [3, 33, 65], b: [3, 65, 17], options: {} },
  {
    id: 'transA-broadcast-2-17-65-31',
    label: '2 × (65×17)ᵀ · 65×31 (B broadcast)',
    a: [2, 65, 17],
    b: [65, 31],
    options: { transA: true },
  },
];

/**
 * Normwise relative error max|x − ref| / max|ref| allowed. Inputs are float32 and sums have at most
 * 130 terms, so float32 accumulation stays below ~1e-6; an indexing or tiling bug gives errors of O(1).
 */
export const SELF_CHECK_TOLERANCE = 1e-4;

export interface BackendCheck {
  backend: BackendName;
  ok: boolean;
  /** Why it failed: a thrown error's message, or what was out of tolerance. */
  error?: string;
  maxAbsError?: number;
  relError?: number;
  /** matmul + readback, first call (on WebGPU this includes compiling the pipeline). */
  firstMs?: number;
  /** The same again, warm. */
  repeatMs?: number;
}

export interface CaseResult {
  id: string;
  label: string;
  outShape: Shape;
  cpu: BackendCheck;
  /** null when no WebGPU backend was available. */
  webgpu: BackendCheck | null;
  /** WebGPU against the CPU backend, when both produced numbers. */
  gpuVsCpu: { maxAbsError: number; relError: number } | null;
  pass: boolean;
}

export interface SelfCheckReport {
  cases: CaseResult[];
  backends: BackendName[];
  passed: boolean;
  summary: string;
}

interface MatmulDims {
  batch: number;
  m: number;
  k: number;
  n: number;
  outShape: number[];
}

/** The dims of the cases above (rank 2 or 3, batch equal or broadcast from 1). */
function dimsOf(c: SelfCheckCase): MatmulDims {
  const [aRows, aCols] = c.a.slice(-2);
  const [bRows, bCols] = c.b.slice(-2);
  const m = c.options.transA ? aCols : aRows;
  const k = c.options.transA ? aRows : aCols;
  const n = c.options.transB ? bRows : bCols;
  const batchDims = c.a.length > c.b.length ? c.a.slice(0, -2) : c.b.slice(0, -2);
  const batch = sizeOf(batchDims);
  return { batch, m, k, n, outShape: [...batchDims, m, n] };
}

/** Plain float64 triple loop; batch dims of rank ≤ 1, broadcast from size 1 or absent. */
export function referenceMatmul(a: Float32Array, b: Float32Array, c: SelfCheckCase): Float64Array {
  const { batch, m, k, n } = dimsOf(c);
  const aBatched = c.a.length === 3 && c.a[0] === batch;
  const bBatched = c.b.length === 3 && c.b[0] === batch;
  const out = new Float64Array(batch * m * n);
  for (let p = 0; p < batch; p++) {
    const aOff = aBatched ? p * m * k : 0;
    const bOff = bBatched ? p * k * n : 0;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let sum = 0;
        for (let q = 0; q < k; q++) {
          const av = c.options.transA ? a[aOff + q * m + i] : a[aOff + i * k + q];
          const bv = c.options.transB ? b[bOff + j * k + q] : b[bOff + q * n + j];
          sum += av * bv;
        }
        out[(p * m + i) * n + j] = sum;
      }
    }
  }
  return out;
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

async function timedMatmul(
  backend: Backend,
  a: Float32Array,
  b: Float32Array,
  c: SelfCheckCase,
): Promise<{ values: Float32Array; ms: number; shape: Shape }> {
  const start = performance.now();
  const created: Tensor[] = [];
  try {
    const ta = backend.tensor(a, c.a);
    created.push(ta);
    const tb = backend.tensor(b, c.b);
    created.push(tb);
    const out = backend.matmul(ta, tb, c.options);
    created.push(out);
    const values = Float32Array.from(await out.read());
    return { values, ms: performance.now() - start, shape: out.shape };
  } finally {
    for (const t of created) t.dispose();
  }
}

async function checkOn(backend: Backend, a: Float32Array, b: Float32Array, c: SelfCheckCase, reference: Float64Array, outShape: Shape) {
  const check: BackendCheck = { backend: backend.name, ok: false };
  let values: Float32Array | null = null;
  try {
    const first = await timedMatmul(backend, a, b, c);
    check.firstMs = first.ms;
    if (first.shape.join(',') !== outShape.join(',')) {
      check.error = `result has shape [${first.shape.join(', ')}], expected [${outShape.join(', ')}]`;
      return { check, values };
    }
    values = first.values;
    const err = arrayError(values, reference);
    check.maxAbsError = err.maxAbsError;
    check.relError = err.relError;
    check.repeatMs = (await timedMatmul(backend, a, b, c)).ms;
    check.ok = err.relError <= SELF_CHECK_TOLERANCE;
    if (!check.ok) check.error = `relative error ${err.relError.toExponential(2)} exceeds ${SELF_CHECK_TOLERANCE.toExponential(0)}`;
  } catch (e) {
    check.error = message(e);
  }
  return { check, values };
}

export async function runCase(c: SelfCheckCase, seed: number, cpu: Backend, webgpu: Backend | null): Promise<CaseResult> {
  const { outShape } = dimsOf(c);
  const rng = new Rng(seed);
  // Rounded to float32 first, so the reference sees exactly the numbers the backends see.
  const a = Float32Array.from(rng.normalArray(sizeOf(c.a)));
  const b = Float32Array.from(rng.normalArray(sizeOf(c.b)));
  const reference = referenceMatmul(a, b, c);
  const onCpu = await checkOn(cpu, a, b, c, reference, outShape);
  const onGpu = webgpu ? await checkOn(webgpu, a, b, c, reference, outShape) : null;
  const gpuVsCpu = onCpu.values && onGpu?.values ? arrayError(onGpu.values, onCpu.values) : null;
  return {
    id: c.id,
    label: c.label,
    outShape,
    cpu: onCpu.check,
    webgpu: onGpu?.check ?? null,
    gpuVsCpu,
    pass: onCpu.check.ok && (onGpu?.check.ok ?? true),
  };
}

export function summarise(cases: readonly CaseResult[], backends: readonly BackendName[]): string {
  const passed = cases.filter((c) => c.pass).length;
  const where = backends.length === 2 ? 'on the CPU and WebGPU backends' : 'on the CPU backend only (no WebGPU)';
  if (passed === cases.length) {
    const worst = Math.max(...cases.flatMap((c) => [c.cpu.relError ?? 0, c.webgpu?.relError ?? 0]));
    return `Self-check passed: ${passed} of ${cases.length} matmul shapes agree with the float64 reference ${where} (worst relative error ${worst.toExponential(1)}).`;
  }
  return `Self-check failed: ${passed} of ${cases.length} matmul shapes passed ${where}; see the table for the errors.`;
}

/** Runs every case in turn, reporting each finished case through `onCase` (for progress). */
export async function runSelfCheck(
  cpu: Backend,
  webgpu: Backend | null,
  onCase: (result: CaseResult, index: number) => void = () => {},
  cases: readonly SelfCheckCase[] = SELF_CHECK_CASES,
): Promise<SelfCheckReport> {
  const results: CaseResult[] = [];
  for (let i = 0; i < cases.length; i++) {
    const result = await runCase(cases[i], 1000 + i, cpu, webgpu);
    results.push(result);
    onCase(result, i);
    // Let the page paint between cases.
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
  const backends: BackendName[] = webgpu ? ['cpu', 'webgpu'] : ['cpu'];
  return { cases: results, backends, passed: results.every((r) => r.pass), summary: summarise(results, backends) };
}
