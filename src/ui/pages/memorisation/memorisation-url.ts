// The Memorisation page's settings in the URL, after '#/memorisation?' (router.ts):
//
//   experiment=noisy-mnist&model=train&steps=1500&seed=1&layers=2,3&rhos=0.5,0.9,0.999,1&rho=0.999
//
// - experiment: noisy-mnist or modular-exceptions (src/engine/memorisation/experiments.ts);
//   model: 'train' (trained on this page with the experiment's recipe for `steps` steps) or
//   'checkpoint' (one kept in this browser or uploaded; its bytes are not part of a link);
//   seed: the model's seed (also the batch order and the Fisher's sampled labels);
//   layers: the K-FAC layers to edit (positions in forward order); rhos: the keep-mass grid the
//   job evaluates (ρ = 1, the unedited model, is always added); rho: where the slider stands.
// - Reading: missing fields take their defaults (the experiment's own layers and steps); anything
//   unknown, repeated, malformed or out of range gives a plain-text message naming the field, and
//   then every field takes its default.
import { EXPERIMENT_IDS, EXPERIMENTS, type ExperimentId } from '../../../engine/memorisation/experiments.ts';
import { MAX_TRAIN_STEPS } from '../../../worker/jobs/limits.ts';

export const EDIT_MODEL_SOURCES = ['train', 'checkpoint'] as const;
export type EditModelChoice = (typeof EDIT_MODEL_SOURCES)[number];

/** The page's default ρ grid: the issue's 0.5 … 0.9 and a fine grid near 1, where these models' curvature mass sits. */
export const DEFAULT_RHO_GRID: readonly number[] = [0.5, 0.6, 0.7, 0.8, 0.9, 0.99, 0.995, 0.998, 0.999, 0.9995, 0.9998, 0.9999, 0.99999, 1];
const MAX_RHOS = 40;

export interface MemorisationSettings {
  experiment: ExperimentId;
  model: EditModelChoice;
  steps: number;
  seed: number;
  layers: number[];
  /** Ascending, with 1. */
  rhos: number[];
  /** The slider's ρ (one of rhos). */
  rho: number;
}

export function defaultSettings(experiment: ExperimentId = 'noisy-mnist'): MemorisationSettings {
  const d = EXPERIMENTS[experiment];
  return {
    experiment,
    model: 'train',
    steps: d.training.steps,
    seed: 1,
    layers: [...d.defaultLayers],
    rhos: [...DEFAULT_RHO_GRID],
    rho: 0.999,
  };
}

const FIELDS = ['experiment', 'model', 'steps', 'seed', 'layers', 'rhos', 'rho'] as const;
type Field = (typeof FIELDS)[number];
const MAX_QUERY_LENGTH = 2048;

function quote(text: string): string {
  return JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text);
}

function readInteger(text: string, field: Field, min: number, max: number, problems: string[]): number | undefined {
  const value = /^\d{1,10}$/.test(text) ? Number(text) : Number.NaN;
  if (!(Number.isInteger(value) && value >= min && value <= max)) {
    problems.push(`${field}: expected a whole number from ${min} to ${max}, got ${quote(text)}`);
    return undefined;
  }
  return value;
}

function readList(text: string, field: Field, ok: (x: number) => boolean, expected: string, problems: string[]): number[] | undefined {
  const parts = text.split(',');
  const values = parts.map((p) => (p.trim() === '' ? Number.NaN : Number(p)));
  if (parts.length > MAX_RHOS || values.some((x) => !ok(x))) {
    problems.push(`${field}: expected ${expected}, got ${quote(text)}`);
    return undefined;
  }
  return values;
}

/** The settings in the query, checked; never throws. */
export function memorisationSettingsFromQuery(query: string): { settings: MemorisationSettings; errors: string[] } {
  if (typeof query !== 'string' || query.trim() === '') return { settings: defaultSettings(), errors: [] };
  if (query.length > MAX_QUERY_LENGTH) return fallback([`link: the settings are longer than the ${MAX_QUERY_LENGTH} characters allowed`]);
  const problems: string[] = [];
  const given = new Map<Field, string>();
  for (const part of query.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    let name: string;
    let text: string;
    try {
      name = decodeURIComponent(eq < 0 ? part : part.slice(0, eq));
      text = eq < 0 ? '' : decodeURIComponent(part.slice(eq + 1));
    } catch {
      problems.push(`link: broken percent-encoding in ${quote(part)}`);
      continue;
    }
    if (!(FIELDS as readonly string[]).includes(name)) problems.push(`${quote(name)}: unknown field (known: ${FIELDS.join(', ')})`);
    else if (given.has(name as Field)) problems.push(`${name}: given more than once`);
    else if (eq < 0) problems.push(`${name}: has no value (expected ${name}=…)`);
    else given.set(name as Field, text);
  }
  const experimentText = given.get('experiment');
  let experiment: ExperimentId = 'noisy-mnist';
  if (experimentText !== undefined) {
    if ((EXPERIMENT_IDS as readonly string[]).includes(experimentText)) experiment = experimentText as ExperimentId;
    else problems.push(`experiment: expected one of ${EXPERIMENT_IDS.join(', ')}, got ${quote(experimentText)}`);
  }
  const settings = defaultSettings(experiment);
  const layerCount = EXPERIMENTS[experiment].layerNames.length;
  for (const [field, text] of given) {
    switch (field) {
      case 'model':
        if ((EDIT_MODEL_SOURCES as readonly string[]).includes(text)) settings.model = text as EditModelChoice;
        else problems.push(`model: expected one of ${EDIT_MODEL_SOURCES.join(', ')}, got ${quote(text)}`);
        break;
      case 'steps':
        settings.steps = readInteger(text, 'steps', 1, MAX_TRAIN_STEPS, problems) ?? settings.steps;
        break;
      case 'seed':
        settings.seed = readInteger(text, 'seed', 0, 2 ** 31 - 1, problems) ?? settings.seed;
        break;
      case 'layers': {
        const layers = readList(
          text,
          'layers',
          (x) => Number.isInteger(x) && x >= 0 && x < layerCount,
          `K-FAC layer positions 0–${layerCount - 1}`,
          problems,
        );
        if (layers && new Set(layers).size !== layers.length) problems.push('layers: lists a layer twice');
        else if (layers) settings.layers = layers;
        break;
      }
      case 'rhos': {
        const rhos = readList(text, 'rhos', (x) => x > 0 && x <= 1, `up to ${MAX_RHOS} keep-mass values in (0, 1]`, problems);
        if (rhos) settings.rhos = [...new Set([...rhos, 1])].sort((a, b) => a - b);
        break;
      }
      default:
        break;
    }
  }
  const rhoText = given.get('rho');
  if (rhoText !== undefined) {
    const rho = Number(rhoText);
    if (!settings.rhos.includes(rho))
      problems.push(`rho: expected one of the grid's values (${settings.rhos.join(', ')}), got ${quote(rhoText)}`);
    else settings.rho = rho;
  } else if (!settings.rhos.includes(settings.rho)) settings.rho = settings.rhos[settings.rhos.length - 1];
  return problems.length > 0 ? fallback(problems) : { settings, errors: [] };
}

function fallback(problems: string[]): { settings: MemorisationSettings; errors: string[] } {
  const shown = problems.slice(0, 8);
  if (problems.length > 8) shown.push(`… and ${problems.length - 8} more problems`);
  shown.push('The link’s memorisation settings were not used; the page shows its defaults instead.');
  return { settings: defaultSettings(), errors: shown };
}

/** The query of these settings (every field, in a fixed order). */
export function memorisationSettingsToQuery(s: MemorisationSettings): string {
  const text: Record<Field, string> = {
    experiment: s.experiment,
    model: s.model,
    steps: String(s.steps),
    seed: String(s.seed),
    layers: s.layers.join(','),
    rhos: s.rhos.join(','),
    rho: String(s.rho),
  };
  return FIELDS.map((f) => `${f}=${encodeURIComponent(text[f])}`).join('&');
}
