// Batched inversion of many small Kronecker factors (docs/kfac.md §4 step 2): every factor of a
// step is padded to the largest size N with a diagonal block in the unused corner and stacked to
// [B, N, N], so all of them go through ONE cholesky + ONE choleskyInverse (or ONE eigh) dispatch
// (docs/architecture.md, "WebGPU"). The block-diagonal padding keeps each
// factor's result exactly in its own corner. Health checks (finiteness, Cholesky status) come
// back in a single read per attempt.
import type { Backend } from '../backend/backend.ts';
import { keep, readAndDispose, scope, type DType, type Tensor } from '../tensor.ts';

/** Square matrices zero-padded into one stack; matrix i sits in the top-left sizes[i] × sizes[i] corner. */
export interface PaddedStack {
  /** [B, n, n]. */
  stack: Tensor;
  sizes: readonly number[];
  /** The common (largest) size. */
  n: number;
}

/** (M + Mᵀ)/2 for [..., n, n]: running averages drift from symmetry by rounding, and the kernels read one triangle. */
export function symmetrize(be: Backend, m: Tensor): Tensor {
  return scope(() => {
    const rank = m.rank;
    const perm = [...Array(rank).keys()];
    [perm[rank - 2], perm[rank - 1]] = [perm[rank - 1], perm[rank - 2]];
    return be.binaryScalar('mul', be.binary('add', m, be.permute(m, perm)), 0.5);
  });
}

/** Cached constant tensors (padding pieces and block masks) keyed by shape; dispose() frees them. */
export class InverseWorkspace {
  private readonly cache = new Map<string, Tensor>();

  constructor(readonly backend: Backend) {}

  private cached(key: string, make: () => Tensor): Tensor {
    const hit = this.cache.get(key);
    if (hit && !hit.isDisposed) return hit;
    const t = keep(make());
    this.cache.set(key, t);
    return t;
  }

  /** A constant int32 index vector (gather indices). */
  indices(values: readonly number[]): Tensor {
    return this.cached(`indices:${values.join(',')}`, () => this.backend.tensor(values, [values.length], 'int32'));
  }

  zeros(rows: number, cols: number, dtype: DType): Tensor {
    return this.cached(`zeros:${dtype}:${rows}x${cols}`, () => this.backend.zeros([rows, cols], dtype));
  }

  /**
   * [B, n, n] masks: 'inner' is the identity on each matrix's own corner (sizes[i]), 'outer' the
   * identity on the padding; inner + outer = I.
   */
  mask(part: 'inner' | 'outer', sizes: readonly number[], n: number, dtype: DType): Tensor {
    return this.cached(`${part}:${dtype}:${n}:${sizes.join(',')}`, () => {
      const values = new Float64Array(sizes.length * n * n);
      sizes.forEach((size, b) => {
        for (let i = 0; i < n; i++) if (i < size === (part === 'inner')) values[b * n * n + i * n + i] = 1;
      });
      return this.backend.tensor(values, [sizes.length, n, n], dtype);
    });
  }

  dispose(): void {
    for (const t of this.cache.values()) t.dispose();
    this.cache.clear();
  }
}

/**
 * Split matrices of the given sizes into stacks to pad and invert together: largest first, a
 * matrix joins the current stack while padding it to the stack's size n costs at most `waste`
 * times its own n_i³ (n³ ≤ waste · n_i³), or when the stack's size is at most `small` (such
 * matrices cost less than a dispatch), else it starts the next stack. So a CNN's 785-wide fc1 is
 * not stacked with its 10×10 conv factors, while the small factors still share one dispatch.
 * Returns groups of indices into `sizes`, each ordered by index.
 */
export function sizeGroups(sizes: readonly number[], waste = 2, small = 64): number[][] {
  const order = sizes.map((_, i) => i).sort((a, b) => sizes[b] - sizes[a] || a - b);
  const groups: number[][] = [];
  let top = 0;
  for (const i of order) {
    const n = sizes[i];
    if (groups.length === 0 || (top > small && top ** 3 > waste * n ** 3)) {
      groups.push([]);
      top = n;
    }
    groups[groups.length - 1].push(i);
  }
  return groups.map((g) => g.sort((a, b) => a - b));
}

/** Zero-pad square matrices [n_i, n_i] to the largest size and stack them: [B, N, N]. */
export function padStack(ws: InverseWorkspace, matrices: readonly Tensor[]): PaddedStack {
  if (matrices.length === 0) throw new Error('padStack: no matrices');
  const be = ws.backend;
  const dtype = matrices[0].dtype;
  const sizes = matrices.map((m, i) => {
    if (m.rank !== 2 || m.shape[0] !== m.shape[1]) throw new Error(`padStack: matrix ${i} has shape [${m.shape.join(', ')}], not [n, n]`);
    if (m.dtype !== dtype) throw new Error(`padStack: matrix ${i} is ${m.dtype}, matrix 0 ${dtype}`);
    return m.shape[0];
  });
  const n = Math.max(...sizes);
  const stack = scope(() => {
    // Row blocks: [M_i | 0] ([n_i, N]) then the zero rows below it ([N − n_i, N]), all concatenated in one go.
    const rows: Tensor[] = [];
    matrices.forEach((m, i) => {
      const size = sizes[i];
      rows.push(size === n ? m : be.concat([m, ws.zeros(size, n - size, dtype)], 1));
      if (size < n) rows.push(ws.zeros(n - size, n, dtype));
    });
    return be.reshape(rows.length === 1 ? be.binaryScalar('mul', rows[0], 1) : be.concat(rows, 0), [matrices.length, n, n]);
  });
  return { stack, sizes, n };
}

/** Traces of a stack [B, N, N] → [B] (the padding must be zero or masked out by `mask`). */
export function batchTraces(be: Backend, stack: Tensor, innerMask: Tensor): Tensor {
  return scope(() => {
    const [b, n] = [stack.shape[0], stack.shape[1]];
    return be.reduce('sum', be.reshape(be.binary('mul', stack, innerMask), [b, n * n]), 1);
  });
}

/** Σ |entries| per matrix of [B, ...] → [B]: non-finite exactly when some entry is (or on overflow). */
export function absSums(be: Backend, batch: Tensor): Tensor {
  return scope(() => be.reduce('sum', be.reshape(be.unary('abs', batch), [batch.shape[0], batch.size / batch.shape[0]]), 1));
}

/** stack + Σ_i diag(v_i) over the mask: adds v[i] to the masked diagonal of matrix i. */
export function addScaledMask(be: Backend, stack: Tensor, values: Tensor, mask: Tensor): Tensor {
  return scope(() => be.binary('add', stack, be.binary('mul', be.reshape(values, [values.size, 1, 1]), mask)));
}

/** The top-left sizes[i] × sizes[i] corner of each matrix of [B, N, N], as [n_i, n_i] tensors. */
export function unpad(be: Backend, stack: Tensor, sizes: readonly number[]): Tensor[] {
  const n = stack.shape[1];
  if (stack.rank !== 3 || stack.shape[2] !== n || stack.shape[0] !== sizes.length) {
    throw new Error(`unpad: stack [${stack.shape.join(', ')}] does not hold ${sizes.length} square matrices`);
  }
  return sizes.map((size, i) => scope(() => be.reshape(be.slice(stack, [i, 0, 0], [1, size, size]), [size, size])));
}

// ---- Cholesky ------------------------------------------------------------------------------------

export interface CholeskyRetry {
  /** Index of the matrix in the batch. */
  index: number;
  /** Retries it took (1 = the first retry succeeded); `retries + 1` when it never succeeded. */
  attempts: number;
  /** The diagonal jitter (absolute) of the last attempt. */
  jitter: number;
  succeeded: boolean;
}

export interface BatchInverseReport {
  /** Matrices (by batch index) whose input had a non-finite entry. */
  nonFiniteInput: number[];
  /** Matrices whose inverse (or eigendecomposition) came out non-finite. */
  nonFiniteOutput: number[];
  /** Cholesky only: matrices that needed jitter, and whether it helped. */
  retries: CholeskyRetry[];
  /** The host copy of `alsoRead`, fetched in the same transfer as the first status. */
  extra: number[];
}

export interface CholeskyBatchOptions {
  /** Retries with 10× more jitter each (default 4). */
  retries?: number;
  /** Jitter of the first retry, relative to the mean diagonal of the failing matrix (default 1e-4). */
  jitter?: number;
  /** A small vector to read back together with the status (the optimizer's update health). */
  alsoRead?: Tensor;
}

/** Everything one read brings back, in the stack's dtype: [status, Σ|D|, tr(D), Σ|D⁻¹|, extra]. */
function healthVector(be: Backend, parts: Tensor[], as?: DType): Tensor {
  return scope(() => {
    const dtype = as ?? parts.find((p) => p.dtype !== 'int32')?.dtype ?? 'float32';
    return be.concat(
      parts.map((p) => be.reshape(p.dtype === dtype ? p : be.cast(p, dtype), [p.size])),
      0,
    );
  });
}

/**
 * Invert every damped matrix of `damped` (padded with an identity-like SPD corner) with one
 * cholesky and one choleskyInverse. Where a Cholesky fails (status > 0, read back once), the whole
 * batch is redone with diagonal jitter on the failing matrices only — jitter · 10^k · mean diagonal
 * for retry k — so successful matrices keep exactly their first result. Returns the padded
 * inverses [B, N, N] (untracked: the caller disposes it) and what happened.
 */
export async function choleskyInverseBatch(
  ws: InverseWorkspace,
  damped: PaddedStack,
  options: CholeskyBatchOptions = {},
): Promise<{ inverses: Tensor; report: BatchInverseReport }> {
  const { inverses, report } = await choleskyInverseGroups(ws, [damped], options);
  return { inverses: inverses[0], report };
}

/**
 * choleskyInverseBatch over several padded stacks (sizeGroups) with ONE status read for all of
 * them: matrix indices in the report run over the stacks in order (stack 0's matrices first).
 * Returns each stack's padded inverses (untracked: the caller disposes them).
 */
export async function choleskyInverseGroups(
  ws: InverseWorkspace,
  stacks: readonly PaddedStack[],
  options: CholeskyBatchOptions = {},
): Promise<{ inverses: Tensor[]; report: BatchInverseReport }> {
  if (stacks.length === 0) throw new Error('choleskyInverseGroups: no stacks');
  const be = ws.backend;
  const sizes = stacks.flatMap((s) => s.sizes);
  const offsets = stacks.map((_, g) => stacks.slice(0, g).reduce((acc, s) => acc + s.sizes.length, 0));
  const batch = sizes.length;
  const retries = options.retries ?? 4;
  const relativeJitter = options.jitter ?? 1e-4;
  const inners = stacks.map((s) => ws.mask('inner', s.sizes, s.n, s.stack.dtype));

  const attempt = (jitter: Float64Array | null, withExtra: boolean) =>
    scope(() => {
      const results = stacks.map(({ stack, sizes: groupSizes }, g) => {
        const count = groupSizes.length;
        const input = jitter
          ? addScaledMask(be, stack, be.tensor(jitter.subarray(offsets[g], offsets[g] + count), [count], stack.dtype), inners[g])
          : stack;
        const { factor, status } = be.cholesky(input);
        const inverses = be.choleskyInverse(factor);
        return { inverses, parts: [status, absSums(be, input), batchTraces(be, input, inners[g]), absSums(be, inverses)] };
      });
      // Part k of every stack side by side: [status…, Σ|D|…, tr(D)…, Σ|D⁻¹|…, extra].
      const dtype = stacks[0].stack.dtype;
      const parts = [0, 1, 2, 3].map((k) =>
        healthVector(
          be,
          results.map((r) => r.parts[k]),
          dtype,
        ),
      );
      if (withExtra && options.alsoRead) parts.push(options.alsoRead);
      return { inverses: results.map((r) => keep(r.inverses)), health: keep(healthVector(be, parts, dtype)) };
    });

  const read = async (health: Tensor) => Array.from(await readAndDispose(health));

  let { inverses, health } = attempt(null, true);
  let values = await read(health);
  const status = values.slice(0, batch);
  const inputSums = values.slice(batch, 2 * batch);
  const traces = values.slice(2 * batch, 3 * batch);
  let outputSums = values.slice(3 * batch, 4 * batch);
  const extra = values.slice(4 * batch);
  const nonFiniteInput = inputSums.flatMap((s, i) => (Number.isFinite(s) ? [] : [i]));

  // Jitter only the matrices that failed with finite input; finite failures are what jitter can fix.
  const jitter = new Float64Array(batch);
  const pending = new Map<number, CholeskyRetry>();
  status.forEach((s, i) => {
    if (s !== 0 && Number.isFinite(inputSums[i])) pending.set(i, { index: i, attempts: 0, jitter: 0, succeeded: false });
  });
  const retried = [...pending.values()];
  let failing = [...pending.keys()];
  for (let k = 0; k < retries && failing.length > 0; k++) {
    for (const i of failing) {
      // Mean diagonal of the matrix itself (the padding's identity excluded from the trace by the mask).
      const meanDiagonal = Math.abs(traces[i]) / sizes[i] || 1;
      jitter[i] = relativeJitter * 10 ** k * meanDiagonal;
      const r = pending.get(i)!;
      r.attempts = k + 1;
      r.jitter = jitter[i];
    }
    inverses.forEach((t) => t.dispose());
    ({ inverses, health } = attempt(jitter, false));
    values = await read(health);
    outputSums = values.slice(3 * batch, 4 * batch);
    failing = failing.filter((i) => values[i] !== 0);
    for (const r of retried) r.succeeded = !failing.includes(r.index);
  }
  for (const r of retried) if (!r.succeeded) r.attempts = retries + 1;

  const failed = new Set(failing);
  const nonFiniteOutput = outputSums.flatMap((s, i) => (Number.isFinite(s) || failed.has(i) || !Number.isFinite(inputSums[i]) ? [] : [i]));
  return { inverses, report: { nonFiniteInput, nonFiniteOutput, retries: retried, extra } };
}

// ---- eigendecomposition --------------------------------------------------------------------------

export interface EigenPair {
  /** Eigenvalues [n], ascending, clamped at 0 (factors are PSD; negatives are rounding). */
  values: Tensor;
  /** Orthonormal eigenvectors as columns [n, n]. */
  vectors: Tensor;
}

/**
 * Eigendecompose every matrix of a zero-padded stack with one eigh. The padding corner gets
 * −(1 + |tr M_i|), below every eigenvalue of the PSD matrix, so with ascending order the matrix's
 * own n_i eigenpairs are the last n_i, and their vectors live in the first n_i rows (an identity
 * padding could tie with a factor eigenvalue of 1 and mix the two blocks' eigenvectors).
 * Returns per-matrix eigenpairs (untracked: the caller disposes them) and the health report.
 */
export async function eighBatch(
  ws: InverseWorkspace,
  padded: PaddedStack,
  options: { alsoRead?: Tensor } = {},
): Promise<{ pairs: EigenPair[]; report: BatchInverseReport }> {
  return eighGroups(ws, [padded], options);
}

/** eighBatch over several padded stacks (sizeGroups) with one read; pairs and report indices run over the stacks in order. */
export async function eighGroups(
  ws: InverseWorkspace,
  stacks: readonly PaddedStack[],
  options: { alsoRead?: Tensor } = {},
): Promise<{ pairs: EigenPair[]; report: BatchInverseReport }> {
  if (stacks.length === 0) throw new Error('eighGroups: no stacks');
  const be = ws.backend;
  const batch = stacks.reduce((acc, s) => acc + s.sizes.length, 0);
  const { pairs, health } = scope(() => {
    const results = stacks.map(({ stack, sizes, n }) => {
      const inner = ws.mask('inner', sizes, n, stack.dtype);
      const outer = ws.mask('outer', sizes, n, stack.dtype);
      const padValues = be.binaryScalar('mul', be.binaryScalar('add', be.unary('abs', batchTraces(be, stack, inner)), 1), -1);
      const input = addScaledMask(be, stack, padValues, outer);
      const { values, vectors } = be.eigh(input);
      const pairs = sizes.map((size, i) => {
        const v = be.binaryScalar('max', be.reshape(be.slice(values, [i, n - size], [1, size]), [size]), 0);
        const q = be.reshape(be.slice(vectors, [i, 0, n - size], [1, size, size]), [size, size]);
        return { values: keep(v), vectors: keep(q) };
      });
      return { pairs, parts: [absSums(be, input), absSums(be, vectors), absSums(be, values)] };
    });
    const dtype = stacks[0].stack.dtype;
    const parts = [0, 1, 2].map((k) =>
      healthVector(
        be,
        results.map((r) => r.parts[k]),
        dtype,
      ),
    );
    if (options.alsoRead) parts.push(options.alsoRead);
    return { pairs: results.flatMap((r) => r.pairs), health: keep(healthVector(be, parts, dtype)) };
  });
  const values = Array.from(await readAndDispose(health));
  const finite = (offset: number) => values.slice(offset, offset + batch).map(Number.isFinite);
  const [inputOk, vectorsOk, valuesOk] = [finite(0), finite(batch), finite(2 * batch)];
  return {
    pairs,
    report: {
      nonFiniteInput: inputOk.flatMap((ok, i) => (ok ? [] : [i])),
      nonFiniteOutput: inputOk.flatMap((ok, i) => (ok && !(vectorsOk[i] && valuesOk[i]) ? [i] : [])),
      retries: [],
      extra: values.slice(3 * batch),
    },
  };
}
