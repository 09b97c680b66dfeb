// Model checkpoints in the browser: kept in IndexedDB (idb-keyval, a database of their own),
// downloaded as .kfacckpt files and read back from uploads. The bytes are the engine's checkpoint
// format (src/engine/checkpoint/checkpoint.ts); whatever comes from storage or a file is decoded and
// checked before it is used, and a bad one is refused with the decoder's message.
import { createStore, del, get, getMany, keys, set, type UseStore } from 'idb-keyval';
import { decodeCheckpoint, type Checkpoint } from '../../engine/checkpoint/checkpoint.ts';
import type { TaskId } from '../../engine/lab/tasks.ts';

export const CHECKPOINT_EXTENSION = '.kfacckpt';

/** What the page shows of a checkpoint without its values. */
export interface CheckpointSummary {
  task: TaskId;
  architecture: string;
  seed: number;
  step: number;
  createdAt: string;
  /** The optimizer (label) that trained it, or null for an untrained model. */
  origin: string | null;
  parameters: number;
}

export interface StoredCheckpoint {
  id: string;
  savedAt: string;
  /** The user's name for it. */
  name: string;
  summary: CheckpointSummary;
}

export function summarize(checkpoint: Checkpoint): CheckpointSummary {
  return {
    task: checkpoint.task,
    architecture: checkpoint.architecture,
    seed: checkpoint.seed,
    step: checkpoint.step,
    createdAt: checkpoint.createdAt,
    origin: checkpoint.origin ? (checkpoint.origin.label ?? checkpoint.origin.optimizer) : null,
    parameters: checkpoint.params.reduce((n, p) => n + p.data.length, 0),
  };
}

/** Decode and summarise checkpoint bytes; throws the decoder's CheckpointError on bad bytes. */
export function readCheckpoint(bytes: Uint8Array): { checkpoint: Checkpoint; summary: CheckpointSummary } {
  const checkpoint = decodeCheckpoint(bytes);
  return { checkpoint, summary: summarize(checkpoint) };
}

/** "vit-mnist, 40 steps of K-FAC-reduce" / "vit-mnist, untrained (seed 1)". */
export function describeCheckpoint(summary: CheckpointSummary): string {
  return summary.origin === null || summary.step === 0
    ? `${summary.task}, untrained (seed ${summary.seed})`
    : `${summary.task}, ${summary.step} step${summary.step === 1 ? '' : 's'} of ${summary.origin}`;
}

/** The file name of a download: task, step and date, safe on every file system. */
export function checkpointFileName(summary: CheckpointSummary): string {
  const date = summary.createdAt.slice(0, 19).replace(/[^0-9T]/g, '');
  return `kfac-lab-${summary.task}-step${summary.step}-${date}${CHECKPOINT_EXTENSION}`;
}

// ---- files ------------------------------------------------------------------------------------------

export function downloadCheckpoint(bytes: Uint8Array, summary: CheckpointSummary): void {
  const blob = new Blob([bytes.slice().buffer], { type: 'application/octet-stream' });
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = checkpointFileName(summary);
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/** Largest file read: far above any lab model (the ViT's checkpoint is well under 1 MB). */
export const MAX_UPLOAD_BYTES = 64 * 1024 * 1024;

/** The bytes of an uploaded file, decoded; throws a readable Error for anything else. */
export async function readUpload(file: File): Promise<{ bytes: Uint8Array; summary: CheckpointSummary }> {
  if (file.size > MAX_UPLOAD_BYTES)
    throw new Error(`${file.name}: ${file.size} bytes is more than the ${MAX_UPLOAD_BYTES} a checkpoint may have`);
  const bytes = new Uint8Array(await file.arrayBuffer());
  try {
    return { bytes, summary: readCheckpoint(bytes).summary };
  } catch (e) {
    throw new Error(`${file.name}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
}

// ---- IndexedDB --------------------------------------------------------------------------------------

let store: UseStore | null = null;
function checkpointStore(): UseStore {
  store ??= createStore('kfac-lab-checkpoints', 'checkpoints');
  return store;
}

const META = 'meta:';
const BYTES = 'bytes:';

function isStoredMeta(value: unknown): value is StoredCheckpoint {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v.id === 'string' &&
    typeof v.savedAt === 'string' &&
    typeof v.name === 'string' &&
    typeof v.summary === 'object' &&
    v.summary !== null
  );
}

/** Keep a checkpoint; returns its entry. Throws when storage fails (full, disabled), with the reason. */
export async function storeCheckpoint(bytes: Uint8Array, name: string): Promise<StoredCheckpoint> {
  const { summary } = readCheckpoint(bytes);
  const id = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  const entry: StoredCheckpoint = { id, savedAt: new Date().toISOString(), name: name.slice(0, 120), summary };
  await set(BYTES + id, bytes.slice(), checkpointStore());
  await set(META + id, entry, checkpointStore());
  return entry;
}

/** The kept checkpoints, newest first; [] when storage is unavailable. Never throws. */
export async function listCheckpoints(): Promise<StoredCheckpoint[]> {
  try {
    const names = (await keys(checkpointStore())).filter((k): k is string => typeof k === 'string' && k.startsWith(META));
    const values = await getMany(names, checkpointStore());
    return values.filter(isStoredMeta).sort((a, b) => b.savedAt.localeCompare(a.savedAt));
  } catch {
    return [];
  }
}

/** A kept checkpoint's bytes, checked; throws with the reason when it is missing or unreadable. */
export async function loadCheckpoint(id: string): Promise<Uint8Array> {
  const bytes: unknown = await get(BYTES + id, checkpointStore());
  if (!(bytes instanceof Uint8Array)) throw new Error('this checkpoint is no longer in the browser’s storage');
  readCheckpoint(bytes);
  return bytes;
}

export async function deleteCheckpoint(id: string): Promise<void> {
  await del(META + id, checkpointStore());
  await del(BYTES + id, checkpointStore());
}
