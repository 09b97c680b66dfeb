// The setup panel's logic, free of React (the tasks' facts live on their definitions,
// src/engine/lab/tasks/): the fields of each schema group
// with their effective values and defaults, immutable edits of the config, and the mapping of
// validation messages ("optimizers[1].hyper.lr: …") to the fields they name.
import { MAX_RUNS, type ExperimentConfig, type OptimizerEntry } from '../../engine/lab/experiment-config.ts';
import { presetConfig } from '../../engine/lab/presets.ts';
import { TASKS, type TaskId } from '../../engine/lab/tasks.ts';
import { groupSpec, isGroupId, type NumericParam, type OptimizerId, type ParamSpec, type ParamValue } from '../../engine/optim/schema.ts';
import { checkConfig } from './config-checks.ts';

// ---- tasks ------------------------------------------------------------------------------------------

export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

// ---- comparing configs ----------------------------------------------------------------------------------

/** Structural equality of config values; a property set to undefined counts as absent. */
export function sameValue(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const keysOf = (o: object) => Object.keys(o).filter((k) => (o as Record<string, unknown>)[k] !== undefined);
  const ka = keysOf(a);
  const kb = keysOf(b);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && sameValue((a as never)[k], (b as never)[k]));
}

/** True when the config is exactly its task's preset. */
export function matchesPreset(config: ExperimentConfig): boolean {
  return config.task in TASKS && sameValue(config, presetConfig(config.task));
}

// ---- schema groups of a run -----------------------------------------------------------------------------

/** The parts of a run that hold schema values, in the order the editor shows them. */
export type EntryGroup = 'hyper' | 'schedule' | 'clip';
export const ENTRY_GROUPS: readonly EntryGroup[] = ['hyper', 'schedule', 'clip'];

/** The schema group behind a part of a run: the optimizer's own group for 'hyper'. */
export function groupIdOf(entry: OptimizerEntry, group: EntryGroup): string {
  return group === 'hyper' ? entry.id : group;
}

export interface FieldModel {
  spec: ParamSpec;
  group: EntryGroup;
  /** The validation path, e.g. "optimizers[1].hyper.lr". */
  path: string;
  /** What the run will use: the config's value, or the default. */
  value: unknown;
  defaultValue: ParamValue;
  /** Set in the config to something other than the default (shows the reset button). */
  changed: boolean;
  /** False when the schema's onlyWhen condition does not hold (e.g. MC samples with another Fisher type). */
  visible: boolean;
  /** Shown under "More settings" rather than at once. */
  advanced: boolean;
}

export function paramPath(index: number, group: EntryGroup, key: string): string {
  return `optimizers[${index}].${group}.${key}`;
}

/** The default the runner will use: the schedule's totalSteps follows the experiment's steps. */
export function effectiveDefault(spec: ParamSpec, group: EntryGroup, config: ExperimentConfig): ParamValue {
  if (group === 'schedule' && spec.key === 'totalSteps' && Number.isInteger(config.steps) && config.steps >= 1) return config.steps;
  return spec.default;
}

function valuesOf(entry: OptimizerEntry, group: EntryGroup): Record<string, unknown> {
  const values = entry[group];
  return typeof values === 'object' && values !== null ? values : {};
}

/** Every field of one part of run `index`, in schema order (none for an unknown optimizer id). */
export function groupFields(config: ExperimentConfig, index: number, group: EntryGroup): FieldModel[] {
  const entry = config.optimizers[index];
  const groupId = groupIdOf(entry, group);
  if (!isGroupId(groupId)) return [];
  const values = valuesOf(entry, group);
  const params = groupSpec(groupId).params;
  const setValue = (key: string) => (Object.prototype.hasOwnProperty.call(values, key) ? values[key] : undefined);
  const currentValue = (key: string) => setValue(key) ?? params.find((p) => p.key === key)?.default;
  return params.map((spec) => {
    const defaultValue = effectiveDefault(spec, group, config);
    const set = setValue(spec.key);
    return {
      spec,
      group,
      path: paramPath(index, group, spec.key),
      value: set === undefined ? defaultValue : set,
      defaultValue,
      changed: set !== undefined && !Object.is(set, defaultValue),
      visible: !spec.onlyWhen || (spec.onlyWhen.values as readonly unknown[]).includes(currentValue(spec.onlyWhen.key)),
      // The schema marks the settings a user tunes first; the rest of an optimizer's group sits under "More settings".
      advanced: group === 'hyper' && spec.primary !== true,
    };
  });
}

// ---- edits (each returns a new config) ------------------------------------------------------------------

function withEntry(config: ExperimentConfig, index: number, change: (entry: OptimizerEntry) => OptimizerEntry): ExperimentConfig {
  return { ...config, optimizers: config.optimizers.map((entry, i) => (i === index ? change(entry) : entry)) };
}

export function setParam(config: ExperimentConfig, index: number, group: EntryGroup, key: string, value: unknown): ExperimentConfig {
  return withEntry(config, index, (entry) => ({ ...entry, [group]: { ...valuesOf(entry, group), [key]: value } }));
}

/** Back to the schema default: the key leaves the config (and an empty group with it), so the URL stays short. */
export function resetParam(config: ExperimentConfig, index: number, group: EntryGroup, key: string): ExperimentConfig {
  return withEntry(config, index, (entry) => {
    const rest = Object.fromEntries(Object.entries(valuesOf(entry, group)).filter(([k]) => k !== key));
    const next: OptimizerEntry = { ...entry, [group]: rest };
    if (Object.keys(rest).length === 0) delete next[group];
    return next;
  });
}

/** An empty label means "use the default label". */
export function setLabel(config: ExperimentConfig, index: number, label: string): ExperimentConfig {
  return withEntry(config, index, (entry) => {
    const next: OptimizerEntry = { ...entry, label };
    if (label === '') delete next.label;
    return next;
  });
}

/** Switch a run's optimizer, keeping the hyperparameters the new one also has (lr, momentum, …). */
export function setOptimizer(config: ExperimentConfig, index: number, id: OptimizerId): ExperimentConfig {
  return withEntry(config, index, (entry) => {
    const keys = new Set(groupSpec(id).params.map((p) => p.key));
    const hyper = Object.fromEntries(Object.entries(valuesOf(entry, 'hyper')).filter(([k]) => keys.has(k)));
    const next: OptimizerEntry = { ...entry, id, hyper };
    if (Object.keys(hyper).length === 0) delete next.hyper;
    return next;
  });
}

export function canAddRun(config: ExperimentConfig): boolean {
  return config.optimizers.length < MAX_RUNS;
}

export function addRun(config: ExperimentConfig, id: OptimizerId): ExperimentConfig {
  if (!canAddRun(config)) return config;
  return { ...config, optimizers: [...config.optimizers, { id }] };
}

/** A copy right after the original, to vary one setting; its label (if any) gets " (copy)". */
export function duplicateRun(config: ExperimentConfig, index: number): ExperimentConfig {
  if (!canAddRun(config)) return config;
  const source = config.optimizers[index];
  const copy: OptimizerEntry = structuredClone(source);
  if (source.label !== undefined) copy.label = `${source.label} (copy)`;
  const optimizers = [...config.optimizers];
  optimizers.splice(index + 1, 0, copy);
  return { ...config, optimizers };
}

export function removeRun(config: ExperimentConfig, index: number): ExperimentConfig {
  if (config.optimizers.length <= 1) return config;
  return { ...config, optimizers: config.optimizers.filter((_, i) => i !== index) };
}

/** A new task: its preset when the config was the old task's preset, otherwise only the task changes. */
export function changeTask(config: ExperimentConfig, task: TaskId): ExperimentConfig {
  if (task === config.task) return config;
  return matchesPreset(config) ? presetConfig(task) : { ...config, task };
}

/**
 * The labels the runner gives runs without one: the id, numbered among the unlabelled runs when
 * the id repeats ("adam #2"). A labelled run gets the one it would have if its label were cleared.
 */
export function defaultLabels(config: ExperimentConfig): string[] {
  const counts = new Map<string, number>();
  for (const e of config.optimizers) counts.set(e.id, (counts.get(e.id) ?? 0) + 1);
  const seen = new Map<string, number>();
  return config.optimizers.map((e) => {
    const n = (seen.get(e.id) ?? 0) + 1;
    if (!e.label) seen.set(e.id, n);
    return (counts.get(e.id) ?? 0) > 1 ? `${e.id} #${n}` : e.id;
  });
}

// ---- numbers in inputs ------------------------------------------------------------------------------------

const NUMBER_TEXT = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

/** The number typed into a field; NaN for empty or unreadable text (validation then names the field). */
export function parseNumberInput(text: string): number {
  const t = text.trim();
  return NUMBER_TEXT.test(t) ? Number(t) : NaN;
}

/** How a value is written into a number input ('' for NaN). */
export function formatNumberInput(value: unknown): string {
  return typeof value === 'number' && Number.isFinite(value) ? String(value) : '';
}

const LADDER = [1, 2, 5];

/** The next value up or down the 1-2-5 ladder (…, 0.001, 0.002, 0.005, 0.01, …) from a positive value. */
export function ladderStep(value: number, direction: 1 | -1): number {
  const exponent = Math.floor(Math.log10(value));
  let best = value;
  for (let e = exponent - 1; e <= exponent + 1; e++) {
    for (const m of LADDER) {
      // toPrecision keeps 2 × 0.1 at 0.2 rather than 0.2000000000000000111.
      const candidate = Number((m * 10 ** e).toPrecision(1));
      const beyond = direction > 0 ? candidate > value * (1 + 1e-9) : candidate < value * (1 - 1e-9);
      const closer = best === value || (direction > 0 ? candidate < best : candidate > best);
      if (beyond && closer) best = candidate;
    }
  }
  return best;
}

/**
 * What an arrow key does to a numeric hyperparameter: the 1-2-5 ladder on log scales (a step of
 * 1 makes no sense for a learning rate), ±1 for linear integers, ±0.01 for linear numbers; clamped
 * to the range, and stepping below the minimum of a field where 0 means "off" turns it off.
 */
export function arrowStep(spec: NumericParam, value: number, direction: 1 | -1): number {
  const clamp = (x: number) => Math.min(spec.max, Math.max(spec.min, x));
  if (!Number.isFinite(value)) return direction > 0 ? spec.min : spec.zeroMeansOff ? 0 : spec.min;
  if (spec.zeroMeansOff && value <= 0) return direction > 0 ? spec.min : 0;
  if (spec.zeroMeansOff && direction < 0 && value <= spec.min) return 0;
  if (spec.scale === 'log') {
    const next = value <= 0 ? spec.min : clamp(ladderStep(value, direction));
    return spec.type === 'integer' ? Math.round(next) : next;
  }
  if (spec.type === 'integer') return clamp(Math.round(value) + direction);
  return clamp(Number((value + direction * 0.01).toFixed(10)));
}

// ---- validation messages ------------------------------------------------------------------------------------

const PATH = /^([A-Za-z_$][\w$-]*(?:\[\d+\]|\.[\w$-]+)*): /;

/** The field a message names ("optimizers[1].hyper.lr"), or '' when it names none. */
export function messagePath(message: string): string {
  return PATH.exec(message)?.[1] ?? '';
}

/** The message without its path, for showing next to the field; NaN (an empty box) is said in words. */
export function messageDetail(message: string): string {
  const path = messagePath(message);
  const detail = path ? message.slice(path.length + 2) : message;
  return detail.replace(/, got number NaN$/, ' (the box is empty or not a number)');
}

export interface SetupValidation {
  ok: boolean;
  /** Every message, in the order validation found them. */
  errors: string[];
  /** Messages by the path they name. */
  byPath: ReadonlyMap<string, string[]>;
}

export function validateSetup(config: ExperimentConfig): SetupValidation {
  const result = checkConfig(config);
  const errors = result.ok ? [] : result.errors;
  const byPath = new Map<string, string[]>();
  for (const message of errors) {
    const path = messagePath(message);
    byPath.set(path, [...(byPath.get(path) ?? []), message]);
  }
  return { ok: result.ok, errors, byPath };
}

/** Messages at `path` (exactly), without the path. */
export function messagesAt(validation: SetupValidation, path: string): string[] {
  return (validation.byPath.get(path) ?? []).map(messageDetail);
}

/**
 * Messages about run `index` that no visible field of its editor shows: unknown keys, a value set
 * for a hidden field, a part that is not an object. The editor shows them at the top of the run.
 */
export function otherRunMessages(validation: SetupValidation, config: ExperimentConfig, index: number): string[] {
  const prefix = `optimizers[${index}]`;
  const shown = new Set([`${prefix}.id`, `${prefix}.label`]);
  if (config.optimizers[index] && typeof config.optimizers[index] === 'object') {
    for (const group of ENTRY_GROUPS) {
      for (const field of groupFields(config, index, group)) if (field.visible) shown.add(field.path);
    }
  }
  const out: string[] = [];
  for (const [path, messages] of validation.byPath) {
    if ((path === prefix || path.startsWith(`${prefix}.`)) && !shown.has(path)) out.push(...messages);
  }
  return out;
}

/** A path and the paths that contain it: "optimizers[0].hyper.lr", "optimizers[0].hyper", "optimizers[0]", "optimizers". */
export function pathAncestors(path: string): string[] {
  const lastSegment = /(\.[^.[\]]+|\[\d+\])$/;
  const out: string[] = [];
  for (let p = path; p !== ''; p = p.replace(lastSegment, '')) {
    out.push(p);
    if (!lastSegment.test(p)) break;
  }
  return out;
}

/** aria-describedby from optional ids. */
export function joinIds(...parts: (string | false | null | undefined)[]): string | undefined {
  const joined = parts.filter(Boolean).join(' ');
  return joined === '' ? undefined : joined;
}

/** A stable element id for the control of a path, so the summary can move focus to it. */
export function fieldDomId(path: string): string {
  return `setup-${path.replace(/[^\w-]+/g, '-').replace(/-+$/, '')}`;
}
