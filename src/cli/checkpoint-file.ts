// Checkpoints as files in Node (the codec is src/engine/checkpoint/checkpoint.ts). Errors name the
// file: a missing or unreadable file, or the decoder's reason why its bytes are not a checkpoint.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { CheckpointError, decodeCheckpoint, encodeCheckpoint, type Checkpoint } from '../engine/checkpoint/checkpoint.ts';

/** By convention; any name works. */
export const CHECKPOINT_EXTENSION = '.kfac';

/**
 * Write the checkpoint to `path` (creating its folder). The bytes go to a temporary file that is
 * then renamed, so an interrupted save never leaves a truncated checkpoint under the real name.
 */
export async function saveCheckpointFile(path: string, checkpoint: Checkpoint): Promise<void> {
  const bytes = encodeCheckpoint(checkpoint);
  await mkdir(dirname(path), { recursive: true });
  const partial = `${path}.partial-${process.pid}`;
  await writeFile(partial, bytes);
  await rename(partial, path);
}

/** Read and decode the checkpoint at `path`. */
export async function loadCheckpointFile(path: string): Promise<Checkpoint> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new CheckpointError(code === 'ENOENT' ? `${path}: no such file` : `${path}: cannot read it (${(e as Error).message})`);
  }
  try {
    return decodeCheckpoint(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch (e) {
    if (e instanceof CheckpointError) throw new CheckpointError(`${path}: ${e.message}`);
    throw e;
  }
}
