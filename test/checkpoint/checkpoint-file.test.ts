// Checkpoint files in Node (src/cli/checkpoint-file.ts): a save/load round trip through a real file
// (bit-exact), no partial file left behind, and errors that name the file.
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHECKPOINT_EXTENSION, loadCheckpointFile, saveCheckpointFile } from '../../src/cli/checkpoint-file.ts';
import {
  CHECKPOINT_FORMAT,
  CHECKPOINT_VERSION,
  CheckpointError,
  encodeCheckpoint,
  type Checkpoint,
} from '../../src/engine/checkpoint/checkpoint.ts';
import { TASKS } from '../../src/engine/lab/tasks.ts';

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kfac-checkpoint-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const checkpoint: Checkpoint = {
  format: CHECKPOINT_FORMAT,
  version: CHECKPOINT_VERSION,
  task: 'gcn-node',
  architecture: TASKS['gcn-node'].model,
  seed: 3,
  step: 100,
  createdAt: '2026-12-04T05:10:00.000Z',
  params: [
    { name: 'conv1.weight', shape: [2, 2], data: new Float32Array(Uint32Array.of(0x80000000, 0x00000001, 0x7fc00abc, 0x3f800000).buffer) },
  ],
};

describe('checkpoint files', () => {
  it('save then load gives the same bytes and checkpoint; the folder is created; no partial file stays', async () => {
    const path = join(dir, 'nested', `model${CHECKPOINT_EXTENSION}`);
    await saveCheckpointFile(path, checkpoint);
    expect(await readdir(join(dir, 'nested'))).toEqual([`model${CHECKPOINT_EXTENSION}`]);
    const back = await loadCheckpointFile(path);
    expect(Array.from(encodeCheckpoint(back))).toEqual(Array.from(encodeCheckpoint(checkpoint)));
    expect(Array.from(new Uint32Array(back.params[0].data.buffer))).toEqual([0x80000000, 0x00000001, 0x7fc00abc, 0x3f800000]);
  });

  it('errors name the file', async () => {
    const missing = join(dir, 'missing.kfac');
    await expect(loadCheckpointFile(missing)).rejects.toThrow(CheckpointError);
    await expect(loadCheckpointFile(missing)).rejects.toThrow(`${missing}: no such file`);
    const foreign = join(dir, 'notes.txt');
    await writeFile(foreign, 'hello, world\n');
    await expect(loadCheckpointFile(foreign)).rejects.toThrow(
      `${foreign}: decodeCheckpoint: not a kfac-lab checkpoint: the file does not start with "KFACCKPT" (it starts with "hello, w")`,
    );
    const cut = join(dir, 'cut.kfac');
    await writeFile(cut, encodeCheckpoint(checkpoint).subarray(0, 30));
    await expect(loadCheckpointFile(cut)).rejects.toThrow(
      new RegExp(`^${cut.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: decodeCheckpoint: truncated`),
    );
    await expect(loadCheckpointFile(dir)).rejects.toThrow(`${dir}: cannot read it`);
  });
});
