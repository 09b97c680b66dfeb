// The `edit` tool (docs/curvature-tools.md §4, after Merullo et al.): remove the low-curvature
// Kronecker components of chosen layers' weights. The K-FAC factors are fitted with the bias kept
// separate (the bias is never edited); each chosen layer's weight W [dOut, dIn] is projected onto
// the components kept at keep-mass ρ (pairwise or rectangle, kronecker-edit.ts). editModelLayers
// does it on a model in place (the memorisation experiments, the page's job, the benchmark);
// editTool wraps it for `npm run -s curvature -- edit case.json`.
import type { Backend } from '../../backend/backend.ts';
import { batchList, fitCurvature, type KroneckerCurvature, type KroneckerLayer } from '../../curvature/toolkit.ts';
import type { Module } from '../../nn/module.ts';
import {
  buildCaseModel,
  CaseError,
  caseKfacOptions,
  finite,
  isRecord,
  oneOf,
  parseFactorsCase,
  toRows,
  type FactorsCase,
} from '../case.ts';
import { defineTool, type ToolOutput } from '../tool.ts';
import {
  EDIT_VARIANTS,
  editWeight,
  numericalRank,
  truncatedSvd,
  type EditVariant,
  type LayerBasis,
  type LayerEdit,
} from './kronecker-edit.ts';

export type EditMethod = 'kfac' | 'rectangle' | 'svd';
export const EDIT_METHODS: readonly EditMethod[] = ['kfac', 'rectangle', 'svd'];

/** A K-FAC layer's eigenbasis on the host (float64), as the edit reads it. */
export async function layerBasis(layer: KroneckerLayer): Promise<LayerBasis> {
  if (layer.bias === 'folded')
    throw new Error(`edit: layer "${layer.name}" was fitted with the bias folded; the edit needs bias 'separate'`);
  const { A, G } = await layer.eigenHost();
  return { kappa: G.values, mu: A.values, vectorsG: G.vectors, vectorsA: A.vectors };
}

/** The model's weight parameter of a K-FAC layer (Linear and Conv2d name it `<layer>.weight`, [dOut, dIn]). */
export function layerWeight(model: Module, layer: KroneckerLayer) {
  const p = model.parameters().find((q) => q.name === `${layer.name}.weight`);
  if (!p) throw new Error(`edit: the model has no parameter "${layer.name}.weight"`);
  if (p.variable.shape.length !== 2 || p.variable.shape[0] !== layer.dOut || p.variable.shape[1] !== layer.dIn)
    throw new Error(`edit: "${p.name}" is [${p.variable.shape.join(', ')}], expected [${layer.dOut}, ${layer.dIn}]`);
  return p;
}

/** One edited layer: what was kept, and the new weight. */
export interface EditedLayer {
  /** Position among the model's K-FAC layers. */
  index: number;
  name: string;
  dOut: number;
  dIn: number;
  weight: Float64Array;
  keptPairs: number;
  totalPairs: number;
  keptMass: number;
  /** Numerical rank of the edited weight (what the SVD baseline is matched to). */
  keptRank: number;
  /** ‖W‖², ‖W'‖², ‖W − W'‖². */
  energy: { total: number; kept: number; removed: number };
}

/** The original weights of some layers, to undo an edit. */
export type SavedWeights = Map<string, { values: Float64Array; shape: [number, number] }>;

/** Read the current weights of the given K-FAC layers. */
export async function saveLayerWeights(model: Module, layers: readonly KroneckerLayer[]): Promise<SavedWeights> {
  const saved: SavedWeights = new Map();
  for (const layer of layers) {
    const p = layerWeight(model, layer);
    saved.set(p.name, { values: Float64Array.from(await p.variable.value.read()), shape: [layer.dOut, layer.dIn] });
  }
  return saved;
}

/** Write saved (or edited) weights back into the model. */
export function restoreLayerWeights(model: Module, saved: SavedWeights): void {
  const params = new Map(model.parameters().map((p) => [p.name, p.variable]));
  for (const [name, { values, shape }] of saved) {
    const v = params.get(name);
    if (!v) throw new Error(`edit: the model has no parameter "${name}"`);
    v.assign(model.backend.tensor(values, shape, v.value.dtype));
  }
}

export interface EditOptions {
  /** Positions among the curvature's layers. */
  layers: readonly number[];
  method: EditMethod;
  /** Keep-mass ρ in (0, 1]. */
  rho: number;
  /**
   * SVD only: the rank to keep per edited layer (same order as `layers`), e.g. the keptRank of the
   * pairwise edit at the same ρ ("equal kept rank").
   */
  ranks?: readonly number[];
}

/**
 * The edited weights of the chosen layers, computed from `original` (saveLayerWeights), without
 * touching the model. `bases` caches each layer's eigenbasis between calls (a sweep over ρ).
 */
export async function planEdit(
  curvature: KroneckerCurvature,
  original: SavedWeights,
  options: EditOptions,
  bases: Map<number, LayerBasis> = new Map(),
): Promise<EditedLayer[]> {
  const out: EditedLayer[] = [];
  for (const [k, index] of options.layers.entries()) {
    const layer = curvature.layers[index];
    if (!layer) throw new Error(`edit: no K-FAC layer ${index} (the model has ${curvature.layers.length})`);
    const saved = original.get(`${layer.name}.weight`);
    if (!saved) throw new Error(`edit: no saved weight for layer "${layer.name}"`);
    const { dOut, dIn } = layer;
    if (options.method === 'svd') {
      const rank = options.ranks?.[k];
      if (rank === undefined) throw new Error('edit: the SVD baseline needs a rank per layer');
      const weight = truncatedSvd(saved.values, dOut, dIn, rank);
      const total = sumSq(saved.values);
      const kept = sumSq(weight);
      out.push({
        index,
        name: layer.name,
        dOut,
        dIn,
        weight,
        keptPairs: Math.min(rank, dOut, dIn),
        totalPairs: Math.min(dOut, dIn),
        keptMass: Number.NaN,
        keptRank: Math.min(rank, dOut, dIn),
        energy: { total, kept, removed: total - kept },
      });
      continue;
    }
    let basis = bases.get(index);
    if (!basis) {
      basis = await layerBasis(layer);
      bases.set(index, basis);
    }
    const variant: EditVariant = options.method === 'kfac' ? 'pairwise' : 'rectangle';
    const edit: LayerEdit = editWeight(saved.values, basis, variant, options.rho);
    out.push({
      index,
      name: layer.name,
      dOut,
      dIn,
      weight: edit.weight,
      keptPairs: edit.selection.keptPairs,
      totalPairs: edit.selection.totalPairs,
      keptMass: edit.selection.keptMass,
      keptRank: numericalRank(edit.weight, dOut, dIn),
      energy: edit.energy,
    });
  }
  return out;
}

/** Write edited layers into the model. */
export function applyEdit(model: Module, curvature: KroneckerCurvature, edited: readonly EditedLayer[]): void {
  const weights: SavedWeights = new Map();
  for (const e of edited) weights.set(layerWeight(model, curvature.layers[e.index]).name, { values: e.weight, shape: [e.dOut, e.dIn] });
  restoreLayerWeights(model, weights);
}

function sumSq(values: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i] * values[i];
  return s;
}

// ---- the JSON tool ---------------------------------------------------------------------------------

const FIELDS = {
  editLayers: { about: 'indices of the linear layers to edit, as in the output (positions in "layers")', default: 'every linear layer' },
  keepMass: { about: 'ρ in (0, 1]: the share of the curvature (Σκ)(Σμ) the kept components reach', default: '1' },
  variant: { about: '"pairwise" (largest κ_i μ_j) or "rectangle" (top eigenvectors of G and of A, each reaching ρ)', default: 'pairwise' },
} as const;

export interface EditCase extends FactorsCase {
  editLayers: number[] | null;
  keepMass: number;
  variant: EditVariant;
}

export interface EditLayerOutput {
  index: number;
  edited: boolean;
  /** [dOut][dIn]: the edited weight (the weight as given for a layer not edited). */
  weight: number[][];
  keptPairs: number;
  totalPairs: number;
  keptMass: number;
}

export interface EditOutput extends ToolOutput {
  layers: EditLayerOutput[];
}

export function parseEditCase(json: unknown): EditCase {
  const c = parseFactorsCase(json, FIELDS);
  const j = json as Record<string, unknown>;
  if (j.bias === 'folded')
    throw new CaseError('bias', 'the edit keeps the bias separate and never edits it; use "separate" or leave it out');
  const linear = c.layers.flatMap((l, i) => (l.type === 'linear' ? [i] : []));
  let editLayers: number[] | null = null;
  if (j.editLayers !== undefined) {
    if (!Array.isArray(j.editLayers) || j.editLayers.length === 0)
      throw new CaseError('editLayers', `expected a non-empty array of linear layer indices (${linear.join(', ')})`);
    editLayers = j.editLayers.map((v, i) => {
      if (typeof v !== 'number' || !linear.includes(v))
        throw new CaseError(
          `editLayers[${i}]`,
          `expected the index of a linear layer in "layers" (${linear.join(', ')}), got ${JSON.stringify(v)}`,
        );
      return v;
    });
    if (new Set(editLayers).size !== editLayers.length) throw new CaseError('editLayers', 'lists a layer twice');
  }
  const keepMass = finite(j.keepMass ?? 1, 'keepMass');
  if (!(keepMass > 0 && keepMass <= 1)) throw new CaseError('keepMass', `expected a number in (0, 1], got ${keepMass}`);
  const variant = oneOf(j.variant ?? 'pairwise', 'variant', EDIT_VARIANTS);
  if (!isRecord(json)) throw new CaseError('case', 'expected a JSON object');
  return { ...c, bias: 'separate', editLayers, keepMass, variant };
}

export async function computeEdit(c: EditCase, backend: Backend): Promise<EditOutput> {
  const m = buildCaseModel(c, backend);
  let curvature: KroneckerCurvature | null = null;
  try {
    curvature = await fitCurvature(m.model, batchList([{ forward: m.forward, loss: m.loss }]), caseKfacOptions(c));
    const caseIndex = curvature.layers.map((l) => m.model.linears[l.index].index);
    const chosen = curvature.layers.flatMap((l, k) => (c.editLayers === null || c.editLayers.includes(caseIndex[k]) ? [k] : []));
    const original = await saveLayerWeights(m.model, curvature.layers);
    const edited = await planEdit(curvature, original, {
      layers: chosen,
      method: c.variant === 'pairwise' ? 'kfac' : 'rectangle',
      rho: c.keepMass,
    });
    const layers = curvature.layers.map((l, k): EditLayerOutput => {
      const e = edited.find((x) => x.index === k);
      const w = original.get(`${l.name}.weight`)!.values;
      return {
        index: caseIndex[k],
        edited: e !== undefined,
        weight: toRows(e ? e.weight : w, l.dOut, l.dIn),
        keptPairs: e ? e.keptPairs : l.dOut * l.dIn,
        totalPairs: l.dOut * l.dIn,
        keptMass: e ? e.keptMass : 1,
      };
    });
    return { layers };
  } finally {
    curvature?.dispose();
    m.dispose();
  }
}

export const editTool = defineTool({
  name: 'edit',
  about:
    "Memorisation editing (Merullo et al.): project chosen layers' weights onto the Kronecker components of highest curvature κ_i μ_j reaching keep-mass ρ (the bias is kept separate and never edited); prints each layer's weight, keptPairs, totalPairs, keptMass.",
  fields: FIELDS,
  parse: parseEditCase,
  compute: computeEdit,
});
