// Checkpoints in the browser (src/ui/checkpoints/checkpoint-library.ts), the parts that need no
// IndexedDB: an uploaded file is decoded and summarised, anything else is refused with the file's
// name and the decoder's reason; descriptions and download names.
import { describe, expect, it } from 'vitest';
import { CHECKPOINT_FORMAT, CHECKPOINT_VERSION, encodeCheckpoint, type Checkpoint } from '../../src/engine/checkpoint/checkpoint.ts';
import { TASKS } from '../../src/engine/lab/tasks.ts';
import { checkpointFileName, describeCheckpoint, readUpload, summarize } from '../../src/ui/checkpoints/checkpoint-library.ts';

const checkpoint: Checkpoint = {
  format: CHECKPOINT_FORMAT,
  version: CHECKPOINT_VERSION,
  task: 'mlp-spirals',
  architecture: TASKS['mlp-spirals'].model,
  seed: 3,
  step: 40,
  createdAt: '2026-12-04T05:06:07.000Z',
  origin: { optimizer: 'kfac-expand', label: 'K-FAC-expand' },
  params: [
    { name: 'fc1.weight', shape: [2, 3], data: Float32Array.of(1, 2, 3, 4, 5, 6) },
    { name: 'fc1.bias', shape: [2], data: Float32Array.of(-1, 1) },
  ],
};

describe('checkpoint library', () => {
  it('summarises, describes and names a checkpoint', () => {
    const summary = summarize(checkpoint);
    expect(summary).toEqual({
      task: 'mlp-spirals',
      architecture: TASKS['mlp-spirals'].model,
      seed: 3,
      step: 40,
      createdAt: '2026-12-04T05:06:07.000Z',
      origin: 'K-FAC-expand',
      parameters: 8,
    });
    expect(describeCheckpoint(summary)).toBe('mlp-spirals, 40 steps of K-FAC-expand');
    expect(describeCheckpoint({ ...summary, step: 0, origin: null })).toBe('mlp-spirals, untrained (seed 3)');
    expect(checkpointFileName(summary)).toBe('kfac-lab-mlp-spirals-step40-20261204T050607.kfacckpt');
  });

  it('reads an uploaded checkpoint file', async () => {
    const bytes = encodeCheckpoint(checkpoint);
    const { bytes: read, summary } = await readUpload(new File([bytes.slice().buffer], 'model.kfacckpt'));
    expect(Array.from(read)).toEqual(Array.from(bytes));
    expect(summary.step).toBe(40);
  });

  it("refuses other files with the file's name and the decoder's reason", async () => {
    await expect(readUpload(new File(['{"not": "a checkpoint"}'], 'results.json'))).rejects.toThrow(
      /^results\.json: decodeCheckpoint: not a kfac-lab checkpoint/,
    );
    const truncated = encodeCheckpoint(checkpoint).slice(0, 40);
    await expect(readUpload(new File([truncated.buffer], 'cut.kfacckpt'))).rejects.toThrow(/^cut\.kfacckpt: decodeCheckpoint: /);
  });
});
