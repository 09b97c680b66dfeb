// The last results, kept in IndexedDB (idb-keyval) so a reload loses nothing. Whatever comes back
// from storage is untrusted (an older version of the lab, a corrupted or hand-edited record): it is
// checked field by field and replaced by null on anything odd, never thrown.
import { createStore, del, get, set, type UseStore } from 'idb-keyval';
import type { LabDevice, LabJson, LabRunJson } from '../engine/lab/report.ts';
import { validateConfig } from '../engine/lab/experiment-config.ts';
import { OPTIMIZER_IDS, type OptimizerId, type ParamValue } from '../engine/optim/schema.ts';

export interface SavedResults {
  /** ISO 8601 time of saving. */
  savedAt: string;
  /** The URL hash of the experiment's config ('#…'), to restore the setup with the results. */
  hash: string;
  doc: LabJson;
}

/** Bumped whenever SavedResults or LabJson change shape: records of other versions are ignored. */
export const STORED_VERSION = 1;
const KEY = 'last';
/** A hash longer than the URL state allows is not ours (url-state.ts caps it at a few KB). */
const MAX_HASH_LENGTH = 16_384;

export interface StoredRecord extends SavedResults {
  version: number;
}

export function toStoredRecord(saved: SavedResults): StoredRecord {
  return { version: STORED_VERSION, savedAt: saved.savedAt, hash: saved.hash, doc: saved.doc };
}

// ---- validation (pure) ----------------------------------------------------------------------------

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const isNumber = (v: unknown): v is number => typeof v === 'number';
const isFiniteNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;
const isNullableCount = (v: unknown): boolean => v === null || isCount(v);
const isNullableFinite = (v: unknown): boolean => v === null || isFiniteNumber(v);

function isArrayOf(value: unknown, item: (v: unknown) => boolean): value is unknown[] {
  if (!Array.isArray(value)) return false;
  for (const v of value) if (!item(v)) return false;
  return true;
}

function isParamValue(v: unknown): v is ParamValue {
  return typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean';
}

function isRecordOf(value: unknown, item: (v: unknown) => boolean): boolean {
  return isRecord(value) && Object.values(value).every(item);
}

function parseDevice(value: unknown): LabDevice | null {
  if (!isRecord(value)) return null;
  const { backend, summary, fallbackReason } = value;
  if (typeof backend !== 'string' || typeof summary !== 'string') return null;
  if (fallbackReason !== null && typeof fallbackReason !== 'string') return null;
  return { backend, summary, fallbackReason };
}

function parseRun(value: unknown): LabRunJson | null {
  if (!isRecord(value)) return null;
  const { optimizer, label, hyper, history, stepsToTarget, timeToTargetMs, phaseMs, stepsCompleted, error } = value;
  if (typeof optimizer !== 'string' || !(OPTIMIZER_IDS as readonly string[]).includes(optimizer)) return null;
  if (typeof label !== 'string' || !isRecordOf(hyper, isParamValue) || !isRecordOf(phaseMs, isFiniteNumber)) return null;
  if (!isNullableCount(stepsToTarget) || !isNullableFinite(timeToTargetMs) || !isCount(stepsCompleted)) return null;
  if (error !== null && typeof error !== 'string') return null;
  if (!isRecord(history)) return null;
  const { step, trainLoss, valMetric, timeMs } = history;
  // A diverged loss is NaN or ±Infinity (IndexedDB keeps them), so trainLoss allows any number.
  if (!isArrayOf(step, isCount) || !isArrayOf(trainLoss, isNumber) || !isArrayOf(timeMs, isFiniteNumber)) return null;
  if (!isArrayOf(valMetric, isNullableFinite)) return null;
  const n = step.length;
  if (trainLoss.length !== n || valMetric.length !== n || timeMs.length !== n) return null;
  return {
    optimizer: optimizer as OptimizerId,
    label,
    hyper: hyper as Record<string, ParamValue>,
    history: {
      step: step as number[],
      trainLoss: trainLoss as number[],
      valMetric: valMetric as (number | null)[],
      timeMs: timeMs as number[],
    },
    stepsToTarget: stepsToTarget as number | null,
    timeToTargetMs: timeToTargetMs as number | null,
    phaseMs: phaseMs as Record<string, number>,
    stepsCompleted,
    error: error as string | null,
  };
}

/** The lab JSON in `value`, or null when any part of it is missing or malformed. */
export function parseLabJson(value: unknown): LabJson | null {
  if (!isRecord(value)) return null;
  // The config must still be valid for today's schema (an old record may name removed options).
  const config = validateConfig(value.config);
  if (!config.ok) return null;
  const device = parseDevice(value.device);
  if (!device || !isCount(value.parameterCount) || !Array.isArray(value.runs)) return null;
  if (value.runs.length !== config.config.optimizers.length) return null;
  const runs: LabRunJson[] = [];
  for (const r of value.runs) {
    const run = parseRun(r);
    if (!run) return null;
    runs.push(run);
  }
  return { config: config.config, device, parameterCount: value.parameterCount, runs };
}

/** A stored record as SavedResults, or null when it is not one of this version's records. Never throws. */
export function parseSavedResults(value: unknown): SavedResults | null {
  try {
    if (!isRecord(value) || value.version !== STORED_VERSION) return null;
    const { savedAt, hash } = value;
    if (typeof savedAt !== 'string' || Number.isNaN(Date.parse(savedAt))) return null;
    if (typeof hash !== 'string' || hash.length > MAX_HASH_LENGTH || (hash !== '' && !hash.startsWith('#'))) return null;
    const doc = parseLabJson(value.doc);
    return doc ? { savedAt, hash, doc } : null;
  } catch {
    // Hostile values (getters that throw, proxies) end here too.
    return null;
  }
}

// ---- storage (browser) ----------------------------------------------------------------------------

let store: UseStore | null = null;
/** The lab's own database and object store, opened on first use (importing this module touches nothing). */
function resultsStore(): UseStore {
  store ??= createStore('kfac-lab', 'results');
  return store;
}

/** reason: the cause in a few plain words, e.g. "the browser’s storage quota for this site is full". */
export type SaveOutcome = { ok: true } | { ok: false; reason: string };

function describeError(error: unknown): string {
  if (typeof DOMException !== 'undefined' && error instanceof DOMException && error.name === 'QuotaExceededError') {
    return 'the browser’s storage quota for this site is full';
  }
  if (typeof indexedDB === 'undefined') return 'IndexedDB is not available in this browser (or in this private window)';
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/**
 * Keep these results as the last ones. Never throws: storage can be full, disabled or missing
 * (private windows), which must not disturb the lab; the outcome says whether it worked and why
 * not, and a failure is also logged as a warning.
 */
export async function saveLastResults(saved: SavedResults): Promise<SaveOutcome> {
  try {
    await set(KEY, toStoredRecord(saved), resultsStore());
    return { ok: true };
  } catch (error) {
    const reason = describeError(error);
    console.warn(`kfac-lab: could not keep the results for the next visit: ${reason}`);
    return { ok: false, reason };
  }
}

/** The last saved results, or null when there are none, they are unreadable, or storage is unavailable. Never throws. */
export async function loadLastResults(): Promise<SavedResults | null> {
  try {
    return parseSavedResults(await get(KEY, resultsStore()));
  } catch {
    return null;
  }
}

/** Forget the saved results (e.g. after a reset the user confirmed). Never throws; false when it failed. */
export async function clearLastResults(): Promise<boolean> {
  try {
    await del(KEY, resultsStore());
    return true;
  } catch {
    return false;
  }
}
