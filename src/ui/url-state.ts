// The whole experiment config in the URL hash (shareable, Playground-style), read back with the
// same validation as the runner (validateConfig plus the lab's label rules in setup/config-checks).
//
// Format of the part after '#': '&'-separated name=value pairs, named as in ExperimentConfig:
//
//   task=vit-mnist&batchSize=64&steps=300&seed=1&evalInterval=25&target=0.85
//   &opt=sgd:label=SGD,lr=0.05,momentum=0.9
//   &opt=kfac-reduce:label=K-FAC-reduce,lr=0.05,damping=0.01,schedule.kind=cosine,clip.maxNorm=1
//
// - target: the validation accuracy to reach (0 to 1), or 'none'.
// - opt: one per run, in order: the optimizer id, then optionally ':' and ','-separated items
//   label=<text>, <key>=<value> (the optimizer's hyperparameters), schedule.<key>=<value>,
//   clip.<key>=<value>; keys and value types come from the schema (src/engine/optim/schema.ts).
// - Every name and text value is percent-encoded (encodeURIComponent), so a label may hold any
//   character: ',' ':' '=' '&' '#' '%' and non-ASCII are escaped. Numbers are written with String()
//   (the shortest text that parses back to the same double), booleans as true / false.
// - Writing: every field, and every hyperparameter the config holds (also one equal to its schema
//   default), so a shared link keeps its meaning when the provisional presets are retuned; groups
//   with no values are left out, and an absent target is written as none.
// - Reading: a missing field takes the value of the task's preset (missing opt: the preset's runs),
//   so '#task=gcn-node' is that task's preset. Anything unknown, duplicated, malformed or out of
//   range gives one plain-text message naming the field, and the default preset is used instead.
import { MAX_RUNS, type ExperimentConfig, type OptimizerEntry } from '../engine/lab/experiment-config.ts';
import { presetConfig } from '../engine/lab/presets.ts';
import { isTaskId, TASKS, type TaskId } from '../engine/lab/tasks.ts';
import { groupSpec, OPTIMIZER_IDS, type OptimizerId, type ParamSpec } from '../engine/optim/schema.ts';
import { checkConfig } from './setup/config-checks.ts';

export const DEFAULT_TASK: TaskId = 'vit-mnist';

/** Longer hashes are refused unread. The longest valid config (8 runs, every key, long labels) is well below. */
export const MAX_HASH_LENGTH = 16_384;

const MAX_MESSAGES = 10;
const MAX_MESSAGE_LENGTH = 240;
/** How much of an unrecognised name or value a message quotes. */
const MAX_QUOTED = 40;

const NUMBER_FIELDS = ['batchSize', 'steps', 'seed', 'evalInterval'] as const;
const FIELDS = ['task', ...NUMBER_FIELDS, 'target', 'opt'] as const;
type SingleField = Exclude<(typeof FIELDS)[number], 'opt'>;

/** The parts of an optimizer entry that hold schema values. */
type EntryGroup = 'hyper' | 'schedule' | 'clip';

export interface HashConfig {
  config: ExperimentConfig;
  /** Plain text, one problem per message, each naming its field; empty when the hash was used (or empty). */
  errors: string[];
  /** True when `config` was read from the hash; false for an empty hash or a fallback to the default. */
  fromUrl: boolean;
}

// ---- writing ----------------------------------------------------------------------------------------

// A lone surrogate would make encodeURIComponent throw; the label rules refuse such labels anyway.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

function encodeText(text: string): string {
  return encodeURIComponent(text.replace(LONE_SURROGATE, '\uFFFD'));
}

function encodeValue(value: unknown): string {
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return encodeText(String(value));
}

function encodeEntry(entry: OptimizerEntry): string {
  const items: string[] = [];
  if (entry.label !== undefined) items.push(`label=${encodeText(entry.label)}`);
  const groups: [EntryGroup, string][] = [
    ['hyper', ''],
    ['schedule', 'schedule.'],
    ['clip', 'clip.'],
  ];
  for (const [group, prefix] of groups) {
    for (const [key, value] of Object.entries(entry[group] ?? {})) {
      if (value !== undefined) items.push(`${prefix}${encodeText(key)}=${encodeValue(value)}`);
    }
  }
  const id = encodeText(entry.id);
  return items.length > 0 ? `${id}:${items.join(',')}` : id;
}

/** '#' followed by the config in the format above; never throws. */
export function configToHash(config: ExperimentConfig): string {
  const pairs = [
    `task=${encodeText(config.task)}`,
    ...NUMBER_FIELDS.map((field) => `${field}=${encodeValue(config[field])}`),
    `target=${config.target ? encodeValue(config.target.value) : 'none'}`,
    ...config.optimizers.map((entry) => `opt=${encodeEntry(entry)}`),
  ];
  return `#${pairs.join('&')}`;
}

// ---- reading ----------------------------------------------------------------------------------------

function quote(text: string): string {
  return JSON.stringify(text.length > MAX_QUOTED ? `${text.slice(0, MAX_QUOTED)}…` : text);
}

function clipMessage(message: string): string {
  return message.length > MAX_MESSAGE_LENGTH ? `${message.slice(0, MAX_MESSAGE_LENGTH)}…` : message;
}

/** Collects problems while reading; every reader below returns undefined after reporting one. */
class Problems {
  readonly messages: string[] = [];
  add(message: string): undefined {
    this.messages.push(message);
    return undefined;
  }
}

function decodePiece(raw: string, where: string, problems: Problems): string | undefined {
  try {
    return decodeURIComponent(raw);
  } catch {
    return problems.add(`${where}: broken percent-encoding in ${quote(raw)}`);
  }
}

// Plain decimal or exponent notation only: Number('') is 0, Number('0x10') is 16, 'NaN' and 'Infinity' are refused.
const NUMBER_TEXT = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

function parseNumber(text: string, where: string, problems: Problems): number | undefined {
  if (!NUMBER_TEXT.test(text)) return problems.add(`${where}: expected a number, got ${quote(text)}`);
  return Number(text);
}

function parseParam(spec: ParamSpec, text: string, where: string, problems: Problems): number | boolean | string | undefined {
  switch (spec.type) {
    case 'number':
    case 'integer':
      return parseNumber(text, where, problems);
    case 'boolean':
      if (text === 'true') return true;
      if (text === 'false') return false;
      return problems.add(`${where}: expected true or false, got ${quote(text)}`);
    case 'enum':
      return text; // checkConfig names the allowed choices
  }
}

function isOptimizerId(id: string): id is OptimizerId {
  return (OPTIMIZER_IDS as readonly string[]).includes(id);
}

/** Where a name inside an opt entry belongs: 'lr' (the optimizer's), 'schedule.kind', 'clip.maxNorm'. */
function locateKey(id: OptimizerId, name: string): { group: EntryGroup; groupId: string; key: string } | null {
  const dot = name.indexOf('.');
  if (dot < 0) return { group: 'hyper', groupId: id, key: name };
  const prefix = name.slice(0, dot);
  if (prefix === 'schedule' || prefix === 'clip') return { group: prefix, groupId: prefix, key: name.slice(dot + 1) };
  return null;
}

function readEntry(raw: string, index: number, problems: Problems): OptimizerEntry | undefined {
  const where = `optimizers[${index}]`;
  const colon = raw.indexOf(':');
  const id = decodePiece(colon < 0 ? raw : raw.slice(0, colon), `${where}.id`, problems);
  if (id === undefined) return undefined;
  if (!isOptimizerId(id)) return problems.add(`${where}.id: unknown optimizer ${quote(id)} (known: ${OPTIMIZER_IDS.join(', ')})`);
  const entry: OptimizerEntry = { id };
  if (colon < 0) return entry;
  for (const item of raw.slice(colon + 1).split(',')) {
    if (item === '') continue;
    const eq = item.indexOf('=');
    const name = decodePiece(eq < 0 ? item : item.slice(0, eq), where, problems);
    if (name === undefined) continue;
    if (eq < 0) {
      problems.add(`${where}: ${quote(name)} has no value (expected name=value)`);
      continue;
    }
    const text = decodePiece(item.slice(eq + 1), `${where}.${name.length > MAX_QUOTED ? 'value' : name}`, problems);
    if (text === undefined) continue;
    if (name === 'label') {
      if (entry.label !== undefined) problems.add(`${where}.label: given more than once`);
      else entry.label = text;
      continue;
    }
    const place = locateKey(id, name);
    const spec = place ? groupSpec(place.groupId).params.find((p) => p.key === place.key) : undefined;
    if (!place || !spec) {
      const known = groupSpec(place?.groupId ?? id)
        .params.map((p) => p.key)
        .join(', ');
      problems.add(`${where}: unknown setting ${quote(name)} (known for ${place?.groupId ?? id}: label, ${known}, schedule.*, clip.*)`);
      continue;
    }
    // spec.key is a schema key, so no name from the URL ever becomes an object key here.
    const path = `${where}.${place.group}.${spec.key}`;
    const values = (entry[place.group] ??= {});
    if (Object.prototype.hasOwnProperty.call(values, spec.key)) {
      problems.add(`${path}: given more than once`);
      continue;
    }
    const value = parseParam(spec, text, path, problems);
    if (value !== undefined) values[spec.key] = value;
  }
  return entry;
}

function isSingleField(name: string): name is SingleField {
  return name !== 'opt' && (FIELDS as readonly string[]).includes(name);
}

/** Read the hash into a config object (unvalidated) and the problems met on the way. */
function readHash(body: string, problems: Problems): ExperimentConfig {
  const single = new Map<SingleField, string>();
  const opts: string[] = [];
  for (const part of body.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const name = decodePiece(eq < 0 ? part : part.slice(0, eq), 'link', problems);
    if (name === undefined) continue;
    if (eq < 0) problems.add(`${quote(name)}: expected name=value`);
    else if (name === 'opt') opts.push(part.slice(eq + 1));
    else if (!isSingleField(name)) problems.add(`${quote(name)}: unknown field (known: ${FIELDS.join(', ')})`);
    else if (single.has(name)) problems.add(`${name}: given more than once`);
    else single.set(name, part.slice(eq + 1));
  }

  const taskRaw = single.get('task');
  const task = taskRaw === undefined ? DEFAULT_TASK : (decodePiece(taskRaw, 'task', problems) ?? DEFAULT_TASK);
  // An unknown task stays in the config for checkConfig to name; the other fields then come from the default preset.
  const preset = presetConfig(isTaskId(task) ? task : DEFAULT_TASK);
  const config: ExperimentConfig = { ...preset, task: task as TaskId };

  for (const field of NUMBER_FIELDS) {
    const raw = single.get(field);
    if (raw === undefined) continue;
    const text = decodePiece(raw, field, problems);
    const value = text === undefined ? undefined : parseNumber(text, field, problems);
    if (value !== undefined) config[field] = value;
  }

  const targetRaw = single.get('target');
  if (targetRaw !== undefined) {
    const text = decodePiece(targetRaw, 'target', problems);
    if (text === 'none') config.target = null;
    else if (text !== undefined) {
      const value = parseNumber(text, 'target.value', problems);
      if (value !== undefined) config.target = { metric: 'valAccuracy', value };
    }
  }

  if (opts.length > MAX_RUNS) problems.add(`optimizers: at most ${MAX_RUNS} runs per experiment, got ${opts.length}`);
  else if (opts.length > 0) {
    // An unreadable entry stands in as a plain SGD run so that later entries keep their index in messages.
    config.optimizers = opts.map((raw, i) => readEntry(raw, i, problems) ?? { id: 'sgd' });
  }
  return config;
}

function fallback(messages: readonly string[]): HashConfig {
  const shown = messages.slice(0, MAX_MESSAGES).map(clipMessage);
  if (messages.length > MAX_MESSAGES) shown.push(`… and ${messages.length - MAX_MESSAGES} more problems`);
  shown.push(`The link's experiment was not loaded; showing the default experiment (the "${TASKS[DEFAULT_TASK].title}" preset) instead.`);
  return { config: presetConfig(DEFAULT_TASK), errors: shown, fromUrl: false };
}

/** The config in `hash` (with or without the leading '#'), validated; never throws. */
export function configFromHash(hash: string): HashConfig {
  try {
    if (typeof hash !== 'string') return fallback(['link: expected text']);
    const body = hash.startsWith('#') ? hash.slice(1) : hash;
    if (body.trim() === '') return { config: presetConfig(DEFAULT_TASK), errors: [], fromUrl: false };
    if (body.length > MAX_HASH_LENGTH) {
      return fallback([`link: the settings are ${body.length} characters long, more than the ${MAX_HASH_LENGTH} allowed`]);
    }
    const problems = new Problems();
    // What could not be read keeps the preset's value, so checking the rest adds no second message for it.
    const config = readHash(body, problems);
    const checked = checkConfig(config);
    if (problems.messages.length > 0 || !checked.ok) return fallback([...problems.messages, ...(checked.ok ? [] : checked.errors)]);
    return { config, errors: [], fromUrl: true };
  } catch (error) {
    // Not expected: every reader above reports instead of throwing. Still, a link must never break the page.
    return fallback([`link: could not be read (${error instanceof Error ? error.message : String(error)})`]);
  }
}
