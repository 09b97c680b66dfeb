// Checkpoints (src/engine/checkpoint/checkpoint.ts): bit-exact round trips (−0, subnormals, the
// extremes, infinities and NaN payloads), every task's model restored from a checkpoint computing
// the identical forward output on the CPU and WebGPU backends (also across the two), and a clear
// message for every kind of bad input.
import { describe, expect, it, vi } from 'vitest';
import {
  captureCheckpoint,
  CHECKPOINT_FORMAT,
  CHECKPOINT_VERSION,
  CheckpointError,
  decodeCheckpoint,
  encodeCheckpoint,
  modelFromCheckpoint,
  restoreCheckpoint,
  type Checkpoint,
} from '../../src/engine/checkpoint/checkpoint.ts';
import type { Backend } from '../../src/engine/backend/backend.ts';
import { loadTask, TASK_IDS, TASKS, type TaskId } from '../../src/engine/lab/tasks.ts';
import type { Module } from '../../src/engine/nn/module.ts';
import { Rng } from '../../src/engine/random.ts';
import { useBackends } from '../helpers/backends.ts';

const b = useBackends();

/** A Float32Array holding exactly these bit patterns. */
function fromBits(bits: readonly number[]): Float32Array {
  return new Float32Array(Uint32Array.from(bits).buffer);
}

function bytesOf(a: Float32Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

const SPECIAL_BITS = [
  0x00000000, // +0
  0x80000000, // −0
  0x00000001, // smallest subnormal
  0x807fffff, // largest negative subnormal
  0x00800000, // smallest normal
  0x7f7fffff, // largest float32
  0xff7fffff, // most negative float32
  0x7f800000, // +∞
  0xff800000, // −∞
  0x7fc00000, // the canonical quiet NaN
  0x7fc00123, // a quiet NaN with a payload
  0xffc0beef, // a negative quiet NaN with a payload
  0x7f800001, // a signalling NaN (its bits must not be quieted on the way)
  0x3f800000, // 1
];

function sampleCheckpoint(overrides: Partial<Checkpoint> = {}): Checkpoint {
  const rng = new Rng(3);
  return {
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
    task: 'mlp-spirals',
    architecture: TASKS['mlp-spirals'].model,
    seed: 7,
    step: 123,
    createdAt: '2026-12-04T05:00:00.000Z',
    origin: { optimizer: 'kfac-reduce', label: 'K-FAC “reduce” ünïcode' },
    params: [
      { name: 'special', shape: [2, 7], data: fromBits(SPECIAL_BITS) },
      { name: 'random.weight', shape: [3, 5], data: Float32Array.from(rng.normalArray(15)) },
      { name: 'scalar', shape: [], data: Float32Array.of(-2.5) },
      { name: 'empty', shape: [0, 4], data: new Float32Array(0) },
      { name: 'b', shape: [1], data: fromBits([0x00000007]) },
    ],
    ...overrides,
  };
}

function expectSameCheckpoint(actual: Checkpoint, expected: Checkpoint): void {
  const { params: ap, ...ameta } = actual;
  const { params: ep, ...emeta } = expected;
  expect(ameta).toEqual(emeta);
  expect(ap.map((p) => [p.name, p.shape])).toEqual(ep.map((p) => [p.name, p.shape]));
  for (const [i, p] of ap.entries()) {
    expect(p.data).toBeInstanceOf(Float32Array);
    expect(Array.from(bytesOf(p.data)), `bytes of ${p.name}`).toEqual(Array.from(bytesOf(ep[i].data)));
  }
}

describe('encode / decode', () => {
  it('round-trips bit for bit: −0, subnormals, extremes, infinities and NaN payloads', () => {
    const c = sampleCheckpoint();
    const bytes = encodeCheckpoint(c);
    expect(bytes.length % 4).toBe(0);
    expect(String.fromCharCode(...bytes.subarray(0, 8))).toBe('KFACCKPT');
    const back = decodeCheckpoint(bytes);
    expectSameCheckpoint(back, c);
    // And again: the encoding is a function of the checkpoint.
    expect(Array.from(encodeCheckpoint(back))).toEqual(Array.from(bytes));
  });

  it('aligns the payload whatever the header length, and decodes from an unaligned view', () => {
    for (const name of ['w', 'ww', 'www', 'wwww']) {
      const c = sampleCheckpoint({ params: [{ name, shape: [3], data: fromBits([0x80000000, 0x7fc00123, 0x00000001]) }] });
      const bytes = encodeCheckpoint(c);
      expect(bytes.length % 4).toBe(0);
      // The same bytes at an odd offset of a larger buffer (as a file read may give them).
      const host = new Uint8Array(bytes.length + 3);
      host.set(bytes, 3);
      expectSameCheckpoint(decodeCheckpoint(host.subarray(3)), c);
    }
  });

  it('leaves origin out when there is none', () => {
    const c = sampleCheckpoint();
    delete c.origin;
    expect(decodeCheckpoint(encodeCheckpoint(c))).not.toHaveProperty('origin');
  });

  it('refuses to encode an inconsistent checkpoint', () => {
    const bad = (overrides: Partial<Checkpoint>) => () => encodeCheckpoint(sampleCheckpoint(overrides));
    expect(bad({ params: [{ name: 'w', shape: [2, 3], data: new Float32Array(5) }] })).toThrow(
      'encodeCheckpoint: parameter "w" has 5 values, but shape [2, 3] holds 6',
    );
    expect(
      bad({
        params: [
          { name: 'w', shape: [1], data: new Float32Array(1) },
          { name: 'w', shape: [1], data: new Float32Array(1) },
        ],
      }),
    ).toThrow('encodeCheckpoint: parameter "w" appears twice');
    expect(bad({ task: 'resnet' as TaskId })).toThrow(/encodeCheckpoint: unknown task "resnet" \(known: mlp-spirals, /);
    expect(bad({ seed: -1 })).toThrow('encodeCheckpoint: seed should be an integer ≥ 0, got -1');
    expect(bad({ createdAt: 'yesterday' })).toThrow('encodeCheckpoint: createdAt should be an ISO 8601 date, got "yesterday"');
    expect(bad({ params: [{ name: 'w', shape: [2], data: new Float64Array(2) as unknown as Float32Array }] })).toThrow(
      'encodeCheckpoint: parameter "w" data should be a Float32Array',
    );
  });
});

// ---- bad bytes ------------------------------------------------------------------------------------

/** The parts of an encoding, to build bad ones from. */
function split(bytes: Uint8Array): { header: Record<string, unknown>; payload: Uint8Array } {
  const length = new DataView(bytes.buffer, bytes.byteOffset).getUint32(8, true);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + length))) as Record<string, unknown>;
  const start = Math.ceil((12 + length) / 4) * 4;
  return { header, payload: bytes.subarray(start) };
}

/** Bytes with this header (any JSON text) and payload, laid out as the encoder does. */
function join(headerText: string, payload: Uint8Array): Uint8Array {
  const header = new TextEncoder().encode(headerText);
  const start = Math.ceil((12 + header.length) / 4) * 4;
  const out = new Uint8Array(start + payload.length);
  out.set(new TextEncoder().encode('KFACCKPT'));
  new DataView(out.buffer).setUint32(8, header.length, true);
  out.set(header, 12);
  out.set(payload, start);
  return out;
}

describe('decodeCheckpoint on bad input', () => {
  const good = encodeCheckpoint(sampleCheckpoint());
  const { header, payload } = split(good);
  const withHeader = (change: Record<string, unknown>) => join(JSON.stringify({ ...header, ...change }), payload);
  const decode = (bytes: Uint8Array) => () => decodeCheckpoint(bytes);

  it('foreign files', () => {
    expect(decode(new Uint8Array(0))).toThrow(CheckpointError);
    expect(decode(new Uint8Array(0))).toThrow('decodeCheckpoint: not a kfac-lab checkpoint: 0 bytes, too short for the 12-byte preamble');
    const png = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52);
    expect(decode(png)).toThrow(
      'decodeCheckpoint: not a kfac-lab checkpoint: the file does not start with "KFACCKPT" (it starts with 89 50 4e 47 0d 0a 1a 0a)',
    );
    const json = new TextEncoder().encode('{"task": "mlp-spirals", "weights": []}');
    expect(decode(json)).toThrow('not a kfac-lab checkpoint: the file does not start with "KFACCKPT" (it starts with "{\\"task\\":")');
    expect(decode(withHeader({ format: 'other-format' }))).toThrow(
      'decodeCheckpoint: not a kfac-lab checkpoint: header format "other-format", expected "kfac-lab-checkpoint"',
    );
    expect(() => decodeCheckpoint([1, 2, 3] as unknown as Uint8Array)).toThrow(
      'decodeCheckpoint: expected a Uint8Array of checkpoint bytes',
    );
  });

  it('truncated files, cut anywhere', () => {
    expect(decode(good.subarray(0, 5))).toThrow('decodeCheckpoint: truncated: 5 bytes, fewer than the 12-byte preamble');
    expect(decode(good.subarray(0, 40))).toThrow(
      /^decodeCheckpoint: truncated: the header needs \d+ bytes but only 28 follow the preamble$/,
    );
    const payloadStart = good.length - payload.length;
    expect(decode(good.subarray(0, payloadStart + 10))).toThrow(
      `decodeCheckpoint: truncated: the payload needs ${payload.length} bytes but only 10 are there`,
    );
    expect(decode(good.subarray(0, good.length - 1))).toThrow(/truncated: the payload needs/);
    // Every cut gives a CheckpointError, never anything else.
    for (let cut = 0; cut < good.length; cut += 7) expect(decode(good.subarray(0, cut)), `cut at ${cut}`).toThrow(CheckpointError);
  });

  it('corrupt files', () => {
    const flipped = good.slice();
    flipped[flipped.length - 5] ^= 0x10;
    expect(decode(flipped)).toThrow(/^decodeCheckpoint: corrupt: the payload's CRC-32 is [0-9a-f]{8}, the header says [0-9a-f]{8}$/);
    const extra = new Uint8Array(good.length + 4);
    extra.set(good);
    expect(decode(extra)).toThrow('decodeCheckpoint: corrupt: 4 bytes follow the end of the payload');
    expect(decode(join('{"format": "kfac-lab-checkpoint", ', payload))).toThrow(
      /^decodeCheckpoint: corrupt: the header is not valid UTF-8 JSON/,
    );
    expect(decode(join('[1, 2]', payload))).toThrow('decodeCheckpoint: corrupt: the header is not a JSON object');
    const huge = good.slice();
    new DataView(huge.buffer).setUint32(8, 0xfffffff0, true);
    expect(decode(huge)).toThrow('decodeCheckpoint: corrupt: a header of 4294967280 bytes is implausibly long');
    expect(decode(withHeader({ step: 'ten' }))).toThrow(
      'decodeCheckpoint: corrupt: header field "step" should be an integer ≥ 0, got "ten"',
    );
    expect(decode(withHeader({ task: 3 }))).toThrow('decodeCheckpoint: corrupt: header field "task" should be a string, got 3');
    expect(decode(withHeader({ origin: { label: 'x' } }))).toThrow(/corrupt: header field "origin" should be \{ optimizer: string/);
    const params = header.params as { name: string; shape: number[]; offset: number }[];
    const moved = params.map((p, i) => (i === 1 ? { ...p, offset: p.offset + 1 } : p));
    expect(decode(withHeader({ params: moved }))).toThrow(/corrupt: params\[1\] \("random.weight"\) starts at \d+, expected \d+/);
    const wrongShape = params.map((p, i) => (i === 0 ? { ...p, shape: [2, -7] } : p));
    expect(decode(withHeader({ params: wrongShape }))).toThrow('decodeCheckpoint: corrupt: params[0] ("special") has shape [2,-7]');
    const fewer = params.slice(0, 2);
    expect(decode(withHeader({ params: fewer }))).toThrow(/corrupt: the parameters hold 29 values but the payload has 31/);
    expect(decode(withHeader({ task: 'resnet' }))).toThrow(/decodeCheckpoint: unknown task "resnet"/);
  });

  it('another version', () => {
    expect(decode(withHeader({ version: 2 }))).toThrow(
      'decodeCheckpoint: checkpoint version 2 is not supported (this build reads version 1)',
    );
    expect(decode(withHeader({ version: undefined }))).toThrow('checkpoint version undefined is not supported');
  });
});

// ---- models -----------------------------------------------------------------------------------------

/** Some training examples of the task's own data, the model's output on them (evaluation mode) as bytes. */
async function forwardBytes(task: TaskId, backend: Backend, model: Module): Promise<Uint8Array> {
  const loaded = await loadTask(task);
  const placed = loaded.place(backend);
  const batch = placed.batch(
    model,
    Int32Array.from({ length: Math.min(3, loaded.trainSize) }, (_, i) => i),
  );
  model.eval();
  try {
    const out = batch.forward();
    const values = (await out.value.read()) as Float32Array;
    out.value.dispose();
    return new Uint8Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength));
  } finally {
    batch.dispose();
    placed.dispose();
  }
}

async function buildModel(task: TaskId, backend: Backend, seed: number): Promise<Module> {
  const placed = (await loadTask(task)).place(backend);
  const model = placed.buildModel(seed);
  placed.dispose();
  return model;
}

describe('captureCheckpoint / restoreCheckpoint', () => {
  it.each(TASK_IDS)('%s: a restored model computes the identical forward output on cpu and webgpu, and across them', async (task) => {
    for (const [from, to] of [
      ['cpu', 'cpu'],
      ['gpu', 'gpu'],
      ['cpu', 'gpu'],
      ['gpu', 'cpu'],
    ] as const) {
      const original = await buildModel(task, b[from], 1);
      const checkpoint = await captureCheckpoint(original, { task, seed: 1, step: 0, origin: { optimizer: 'adam' } });
      expect(checkpoint.architecture).toBe(TASKS[task].model);
      expect(checkpoint.params.map((p) => p.name)).toEqual(original.parameters().map((p) => p.name));
      const decoded = decodeCheckpoint(encodeCheckpoint(checkpoint));
      // A different initialisation, then the checkpoint's values.
      const restored = await buildModel(task, b[to], 2);
      restoreCheckpoint(restored, decoded, { task });
      // The reference: the same initial weights built directly on the target backend.
      const reference = await buildModel(task, b[to], 1);
      const [got, want] = [await forwardBytes(task, b[to], restored), await forwardBytes(task, b[to], reference)];
      expect(got.length).toBeGreaterThan(0);
      expect(Array.from(got), `${task} ${from} → ${to}`).toEqual(Array.from(want));
      // Parameters read back bit for bit.
      const again = await captureCheckpoint(restored, {
        task,
        seed: 1,
        step: 0,
        createdAt: checkpoint.createdAt,
        origin: { optimizer: 'adam' },
      });
      expectSameCheckpoint(again, checkpoint);
      for (const m of [original, restored, reference]) m.dispose();
    }
  });

  it('restoring writes special values through unchanged (cpu and webgpu)', async () => {
    for (const which of ['cpu', 'gpu'] as const) {
      const model = await buildModel('mlp-spirals', b[which], 1);
      const checkpoint = await captureCheckpoint(model, { task: 'mlp-spirals', seed: 1, step: 5 });
      const first = checkpoint.params[0];
      const bits = new Uint32Array(first.data.buffer);
      SPECIAL_BITS.forEach((v, i) => (bits[i] = v));
      restoreCheckpoint(model, decodeCheckpoint(encodeCheckpoint(checkpoint)));
      const back = await captureCheckpoint(model, { task: 'mlp-spirals', seed: 1, step: 5, createdAt: checkpoint.createdAt });
      // Float32 through the device buffer and back: −0, subnormals, ±∞, and NaN payloads alike.
      expect(Array.from(new Uint32Array(back.params[0].data.buffer)), which).toEqual(Array.from(bits));
      model.dispose();
    }
  });

  it('names every mismatch and writes nothing when one is found', async () => {
    const model = await buildModel('mlp-spirals', b.cpu, 1);
    const good = await captureCheckpoint(model, { task: 'mlp-spirals', seed: 1, step: 0 });
    const before = await captureCheckpoint(model, { task: 'mlp-spirals', seed: 1, step: 0, createdAt: good.createdAt });
    const changed = structuredClone(good);
    for (const p of changed.params) p.data.fill(0.5);

    expect(() => restoreCheckpoint(model, changed, { task: 'cnn-mnist' })).toThrow(
      'restoreCheckpoint: the checkpoint is of task "mlp-spirals", the model of task "cnn-mnist"',
    );
    expect(() => restoreCheckpoint(model, { ...changed, architecture: 'MLP 2-64-2' })).toThrow(
      'restoreCheckpoint: the checkpoint\'s architecture "MLP 2-64-2" is not task "mlp-spirals"\'s model "MLP 2-32-32-2"',
    );
    const renamed = { ...changed, params: changed.params.map((p, i) => (i === 0 ? { ...p, name: 'fc9.weight' } : p)) };
    expect(() => restoreCheckpoint(model, renamed)).toThrow(
      `restoreCheckpoint: the checkpoint lacks parameter "${good.params[0].name}"; the model has no parameter "fc9.weight"`,
    );
    const fewer = { ...changed, params: changed.params.slice(1) };
    expect(() => restoreCheckpoint(model, fewer)).toThrow(`restoreCheckpoint: the checkpoint lacks parameter "${good.params[0].name}"`);
    const [p0] = changed.params;
    const reshaped = {
      ...changed,
      params: changed.params.map((p, i) => (i === 0 ? { ...p, shape: [p0.shape[1], p0.shape[0]] } : p)),
    };
    expect(() => restoreCheckpoint(model, reshaped)).toThrow(
      `restoreCheckpoint: parameter "${p0.name}" is [${p0.shape[1]}, ${p0.shape[0]}] in the checkpoint but [${p0.shape.join(', ')}] in the model`,
    );
    expect(() => restoreCheckpoint(model, { ...changed, task: 'resnet' as TaskId })).toThrow(/restoreCheckpoint: unknown task "resnet"/);
    // None of the failed restores changed a weight.
    const after = await captureCheckpoint(model, { task: 'mlp-spirals', seed: 1, step: 0, createdAt: good.createdAt });
    expectSameCheckpoint(after, before);
    // The good one does.
    restoreCheckpoint(model, changed, { task: 'mlp-spirals' });
    expect(
      (await captureCheckpoint(model, { task: 'mlp-spirals', seed: 1, step: 0 })).params.every((p) => p.data.every((v) => v === 0.5)),
    ).toBe(true);
    model.dispose();
  });

  it("modelFromCheckpoint builds the checkpoint's seed, restores it, and disposes the model when the checkpoint does not fit", async () => {
    const placed = (await loadTask('mlp-spirals')).place(b.cpu);
    const source = placed.buildModel(3);
    const checkpoint = await captureCheckpoint(source, { task: 'mlp-spirals', seed: 3, step: 0 });
    for (const p of checkpoint.params) p.data.fill(0.25);
    const restored = modelFromCheckpoint(placed, checkpoint, { task: 'mlp-spirals' });
    const back = await captureCheckpoint(restored, { task: 'mlp-spirals', seed: 3, step: 0, createdAt: checkpoint.createdAt });
    expectSameCheckpoint(back, checkpoint);
    const seeds = vi.spyOn(placed, 'buildModel');
    const dispose = vi.spyOn(Object.getPrototypeOf(restored) as Module, 'dispose');
    expect(() => modelFromCheckpoint(placed, checkpoint, { task: 'cnn-mnist' })).toThrow(
      'restoreCheckpoint: the checkpoint is of task "mlp-spirals", the model of task "cnn-mnist"',
    );
    expect(seeds).toHaveBeenCalledWith(3);
    expect(dispose).toHaveBeenCalledTimes(1);
    dispose.mockRestore();
    seeds.mockRestore();
    for (const m of [source, restored]) m.dispose();
    placed.dispose();
  });

  it('capture refuses an unknown task', async () => {
    const model = await buildModel('mlp-spirals', b.cpu, 1);
    await expect(captureCheckpoint(model, { task: 'resnet' as TaskId, seed: 1, step: 0 })).rejects.toThrow(
      /captureCheckpoint: unknown task "resnet"/,
    );
    model.dispose();
  });
});
