// The checkpoint actions every tool page's store offers (the "Checkpoints" card of
// tool-page/CheckpointCard.tsx): open one kept in this browser, open a file, keep the current model
// in this browser, download it, forget a kept one. What a page does with a model it opens (which
// task and settings follow from it) stays in the page's store: `adopt`.
import {
  deleteCheckpoint,
  describeCheckpoint,
  downloadCheckpoint,
  loadCheckpoint,
  readUpload,
  storeCheckpoint,
  type CheckpointSummary,
  type StoredCheckpoint,
} from './checkpoint-library.ts';

/** A model a page holds: the checkpoint's bytes and what they contain. */
export interface HeldCheckpoint {
  bytes: Uint8Array;
  summary: CheckpointSummary;
}

export interface CheckpointActionOptions {
  /** The model the page holds now, if any. */
  current(): HeldCheckpoint | null;
  /** The checkpoints kept in this browser, as the page last listed them. */
  stored(): readonly StoredCheckpoint[];
  /** Re-read the list of kept checkpoints into the page's state. */
  refreshStored(): Promise<void>;
  message(kind: 'error' | 'info', text: string): void;
  /**
   * Take a checkpoint the user opened; `from` says where it came from ("the file x.kfacckpt");
   * `summary` is given when it is already known. Throws (with a clear message) when the page
   * cannot use it.
   */
  adopt(bytes: Uint8Array, from: string, summary?: CheckpointSummary): void;
  /** The name a kept checkpoint gets (default: its description). */
  keptName?(held: HeldCheckpoint): string;
  /** The message once it is kept. */
  keptMessage: string;
  /** The start of the message when a file cannot be used ("That file is not a checkpoint the lab can use"). */
  uploadError: string;
}

export interface CheckpointActions {
  openStored(id: string): Promise<void>;
  upload(file: File): Promise<void>;
  keepInBrowser(): Promise<void>;
  download(): void;
  forgetStored(id: string): Promise<void>;
}

function describeError(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export function checkpointActions(o: CheckpointActionOptions): CheckpointActions {
  return {
    async openStored(id) {
      try {
        const bytes = await loadCheckpoint(id);
        const entry = o.stored().find((s) => s.id === id);
        o.adopt(bytes, `kept in this browser as “${entry?.name ?? id}”`);
      } catch (e) {
        o.message('error', `That checkpoint could not be opened: ${describeError(e)}`);
      }
    },

    async upload(file) {
      try {
        const { bytes, summary } = await readUpload(file);
        o.adopt(bytes, `the file ${file.name}`, summary);
      } catch (e) {
        o.message('error', `${o.uploadError}: ${describeError(e)}`);
      }
    },

    async keepInBrowser() {
      const held = o.current();
      if (!held) return;
      try {
        await storeCheckpoint(held.bytes, o.keptName ? o.keptName(held) : describeCheckpoint(held.summary));
        o.message('info', o.keptMessage);
        await o.refreshStored();
      } catch (e) {
        o.message('error', `The model could not be kept in this browser: ${describeError(e)}`);
      }
    },

    download() {
      const held = o.current();
      if (held) downloadCheckpoint(held.bytes, held.summary);
    },

    async forgetStored(id) {
      try {
        await deleteCheckpoint(id);
      } catch (e) {
        o.message('error', `The checkpoint could not be removed: ${describeError(e)}`);
      }
      await o.refreshStored();
    },
  };
}
