// The `marglik` tool (docs/curvature-tools.md §2): the Laplace log marginal likelihood of a case's
// model at its given weights, with the posterior precision per K-FAC layer P_l = H_l + δ_l I, H the
// GGN of −log p of the whole case data set (summed whatever the case's reduction). `hessian`
// 'kron': H_l = s·(G ⊗ A) from the case's K-FAC (approx, Fisher, bias), log det from the factors'
// eigenvalues; 'full': the dense exact GGN of all K-FAC parameters (tiny float64 CPU cases), log det
// by Cholesky — then a layer's logDet is that of its diagonal block of P (the blocks' sum is not the
// whole log det when layers couple).
import type { Backend } from '../../backend/backend.ts';
import { batchList, exactCurvatureMatrix } from '../../curvature/toolkit.ts';
import { batchTerms } from '../../curvature/data.ts';
import { fitLaplace } from '../../laplace/kron-laplace.ts';
import { hessianScale, logMarginalLikelihood, type MarglikTerms } from '../../laplace/marglik.ts';
import {
  buildCaseModel,
  CaseError,
  caseKfacOptions,
  finite,
  isRecord,
  oneOf,
  parseFactorsCase,
  type FactorsCase,
  type FieldDoc,
} from '../case.ts';
import { defineTool, type ToolOutput } from '../tool.ts';
import { scope } from '../../tensor.ts';

export const MARGLIK_FIELDS: Readonly<Record<string, FieldDoc>> = {
  prior: {
    about: '{"precision": δ} — one number for every K-FAC layer, or one per K-FAC layer [δ_0, δ_1, ...]',
    default: '{"precision": 1}',
  },
  sigma: { about: 'MSE only: the Gaussian noise σ of the likelihood', default: '1' },
  hessian: {
    about: '"kron" (K-FAC, exact log det from the eigenvalues) or "full" (dense exact GGN; cpu float64, tiny models)',
    default: 'kron',
  },
};

export interface MarglikCase extends FactorsCase {
  /** δ for every layer, or one per K-FAC layer (checked against the model when it is built). */
  priorPrecision: number | number[];
  sigma: number;
  hessian: 'kron' | 'full';
}

export interface MarglikOutput extends ToolOutput, Omit<MarglikTerms, 'layers'> {
  hessian: 'kron' | 'full';
  likelihood: 'classification' | 'regression';
  /** The prior precision δ_l used per layer, and σ (MSE). */
  precision: number[];
  sigma: number | null;
  layers: { index: number; params: number; logDet: number }[];
}

export function parseMarglikCase(json: unknown): MarglikCase {
  const c = parseFactorsCase(json, MARGLIK_FIELDS);
  const raw = json as Record<string, unknown>;
  let precision: number | number[] = 1;
  if (raw.prior !== undefined) {
    if (!isRecord(raw.prior)) throw new CaseError('prior', `expected {"precision": δ}, got ${JSON.stringify(raw.prior)}`);
    const extra = Object.keys(raw.prior).find((k) => k !== 'precision');
    if (extra !== undefined) throw new CaseError(`prior.${extra}`, 'unknown field (allowed: precision)');
    const p = raw.prior.precision ?? 1;
    const positive = (v: unknown, at: string) => {
      const x = finite(v, at);
      if (!(x > 0)) throw new CaseError(at, `expected a prior precision > 0, got ${x}`);
      return x;
    };
    if (Array.isArray(p)) {
      const linears = c.layers.filter((l) => l.type === 'linear').length;
      if (p.length !== linears)
        throw new CaseError('prior.precision', `expected one number or ${linears} (one per linear layer), got ${p.length}`);
      precision = p.map((v, i) => positive(v, `prior.precision[${i}]`));
    } else precision = positive(p, 'prior.precision');
  }
  const sigma = raw.sigma === undefined ? 1 : finite(raw.sigma, 'sigma');
  if (!(sigma > 0)) throw new CaseError('sigma', `expected σ > 0, got ${sigma}`);
  if (raw.sigma !== undefined && c.loss !== 'mse')
    throw new CaseError('sigma', 'only for loss "mse" (cross-entropy has no noise parameter)');
  const hessian = oneOf(raw.hessian ?? 'kron', 'hessian', ['kron', 'full'] as const);
  if (hessian === 'full' && (c.backend !== 'cpu' || c.precision !== 'float64')) {
    throw new CaseError('hessian', '"full" needs backend "cpu" with precision "float64" (the dense exact GGN is a float64 CPU oracle)');
  }
  return { ...c, priorPrecision: precision, sigma, hessian };
}

/** log q of a parsed case on `backend`. */
export async function computeMarglik(c: MarglikCase, backend: Backend): Promise<MarglikOutput> {
  const m = buildCaseModel(c, backend);
  const data = batchList([{ forward: m.forward, loss: m.loss }]);
  const laplace = await fitLaplace(m.model, data, caseKfacOptions(c)).catch((e) => {
    m.dispose();
    throw e;
  });
  try {
    const layerCount = laplace.spectrum.layers.length;
    const prior = c.priorPrecision;
    const precision = typeof prior === 'number' ? Array.from({ length: layerCount }, () => prior) : prior;
    const hyper = { precision, sigma: c.sigma };
    let terms = logMarginalLikelihood(laplace.spectrum, hyper);
    if (c.hessian === 'full') terms = await withDenseLogDet(c, m, laplace.spectrum, hyper, terms);
    return {
      hessian: c.hessian,
      likelihood: laplace.spectrum.likelihood,
      precision,
      sigma: c.loss === 'mse' ? c.sigma : null,
      logMarglik: terms.logMarglik,
      logLik: terms.logLik,
      logDetPosterior: terms.logDetPosterior,
      logDetPrior: terms.logDetPrior,
      scatter: terms.scatter,
      layers: terms.layers.map((l, k) => ({ index: m.model.linears[k].index, params: l.params, logDet: l.logDet })),
    };
  } finally {
    laplace.dispose();
    m.dispose();
  }
}

/** Replace the Kronecker log det by that of s·GGN + diag(δ) (dense, Cholesky). */
async function withDenseLogDet(
  c: MarglikCase,
  m: ReturnType<typeof buildCaseModel>,
  spectrum: Parameters<typeof hessianScale>[0],
  hyper: { precision: number[]; sigma: number },
  terms: MarglikTerms,
): Promise<MarglikTerms> {
  const exact = exactCurvatureMatrix(m.model, m.forward, m.loss, { bias: c.bias });
  // The matrix is the curvature of the loss as the case reduces it: divide by its c first.
  const shape = scope(() => [...m.forward().shape]);
  const lossScale = (await batchTerms(m.loss, shape)).scale;
  const s = hessianScale({ ...spectrum, curvatureScale: 1 / lossScale }, hyper.sigma);
  const n = exact.size;
  const P = new Float64Array(n * n);
  for (let i = 0; i < n * n; i++) P[i] = s * exact.values[i];
  const ranges = exact.layers.map((l) => {
    const weight = [l.offset, l.offset + l.dOut * l.width] as const;
    const bias = l.biasOffset === null ? null : ([l.biasOffset, l.biasOffset + l.dOut] as const);
    return { weight, bias };
  });
  ranges.forEach((r, k) => {
    for (const [lo, hi] of r.bias ? [r.weight, r.bias] : [r.weight]) for (let i = lo; i < hi; i++) P[i * n + i] += hyper.precision[k];
  });
  const layers = ranges.map((r, k) => {
    const idx: number[] = [];
    for (const [lo, hi] of r.bias ? [r.weight, r.bias] : [r.weight]) for (let i = lo; i < hi; i++) idx.push(i);
    const block = new Float64Array(idx.length * idx.length);
    idx.forEach((i, a) => idx.forEach((j, b) => (block[a * idx.length + b] = P[i * n + j])));
    return { ...terms.layers[k], logDet: choleskyLogDet(block, idx.length) };
  });
  const logDetPosterior = choleskyLogDet(P, n);
  return { ...terms, logDetPosterior, layers, logMarglik: terms.logLik - 0.5 * (logDetPosterior - terms.logDetPrior + terms.scatter) };
}

/** log det of a symmetric positive definite matrix (row-major), float64 Cholesky. */
export function choleskyLogDet(matrix: Float64Array, n: number): number {
  const L = Float64Array.from(matrix);
  let logDet = 0;
  for (let j = 0; j < n; j++) {
    let d = L[j * n + j];
    for (let k = 0; k < j; k++) d -= L[j * n + k] ** 2;
    if (!(d > 0)) throw new Error(`choleskyLogDet: the matrix is not positive definite (pivot ${j} is ${d})`);
    const root = Math.sqrt(d);
    L[j * n + j] = root;
    logDet += 2 * Math.log(root);
    for (let i = j + 1; i < n; i++) {
      let v = L[i * n + j];
      for (let k = 0; k < j; k++) v -= L[i * n + k] * L[j * n + k];
      L[i * n + j] = v / root;
    }
  }
  return logDet;
}

export const marglikTool = defineTool({
  name: 'marglik',
  about:
    'Laplace log marginal likelihood log q(D|δ) of the case model (logMarglik, logLik, logDetPosterior, logDetPrior, scatter; per layer params and logDet), Kronecker or dense exact GGN.',
  fields: MARGLIK_FIELDS,
  parse: parseMarglikCase,
  compute: computeMarglik,
});
