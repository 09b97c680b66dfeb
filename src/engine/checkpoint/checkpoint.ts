// Model checkpoints: a trained model's parameters with what they belong to (task, architecture,
// seed, step, the optimizer that trained them), so that a model moves between the lab's pages, the
// worker, the CLI and files as one value. The binary form (encodeCheckpoint / decodeCheckpoint):
//
//   bytes 0–7    magic "KFACCKPT"
//   bytes 8–11   header length H, uint32 little-endian
//   bytes 12…    header: H bytes of UTF-8 JSON (format, version, metadata, and per parameter its
//                name, shape and place in the payload; the payload's length and CRC-32)
//   then         zero padding to a multiple of 4 bytes
//   payload      every parameter's float32 values, little-endian, one after the other
//
// Values travel as raw bits (NaN payloads, −0 and subnormals survive a round trip unchanged).
// Parameters are read from and written to any backend through the Module's named parameters.
import type { Module } from '../nn/module.ts';
import { isTaskId, TASKS, type TaskId } from '../lab/tasks.ts';
import { shapeToString, sizeOf } from '../tensor.ts';

export const CHECKPOINT_FORMAT = 'kfac-lab-checkpoint';
export const CHECKPOINT_VERSION = 1;
/** "KFACCKPT" in ASCII: the first eight bytes of every encoded checkpoint. */
const MAGIC = Uint8Array.from('KFACCKPT', (c) => c.charCodeAt(0));
const PREAMBLE_BYTES = MAGIC.length + 4;
/** A header longer than this is not a checkpoint's (it lists names and shapes, not values). */
const MAX_HEADER_BYTES = 64 * 1024 * 1024;

export interface CheckpointParam {
  /** The Module's dotted parameter name, e.g. "blocks.0.attn.q.weight". */
  name: string;
  shape: number[];
  data: Float32Array;
}

export interface Checkpoint {
  format: typeof CHECKPOINT_FORMAT;
  version: typeof CHECKPOINT_VERSION;
  task: TaskId;
  /** The task's model in a few words (TaskDefinition.model) when the checkpoint was made. */
  architecture: string;
  /** The experiment seed the model was initialised with. */
  seed: number;
  /** Training steps taken. */
  step: number;
  /** ISO 8601. */
  createdAt: string;
  origin?: { optimizer: string; label?: string };
  params: CheckpointParam[];
}

/** What captureCheckpoint needs besides the model. */
export interface CheckpointMeta {
  task: TaskId;
  seed: number;
  step: number;
  /** Default: the task's model (TASKS[task].model). */
  architecture?: string;
  /** Default: now. */
  createdAt?: string;
  origin?: { optimizer: string; label?: string };
}

/** Bad bytes, a bad checkpoint, or a checkpoint that does not fit the model. */
export class CheckpointError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CheckpointError';
  }
}

// ---- encode -----------------------------------------------------------------------------------

interface HeaderParam {
  name: string;
  shape: number[];
  /** First value in the payload (in float32 elements). */
  offset: number;
}

interface Header {
  format: string;
  version: number;
  task: string;
  architecture: string;
  seed: number;
  step: number;
  createdAt: string;
  origin?: { optimizer: string; label?: string };
  params: HeaderParam[];
  /** Float32 values in the payload. */
  payloadLength: number;
  /** CRC-32 of the payload bytes, 8 lowercase hex digits. */
  payloadCrc32: string;
}

/** The checkpoint as bytes (see the file comment). Checks it first, so only a valid checkpoint is written. */
export function encodeCheckpoint(c: Checkpoint): Uint8Array {
  checkCheckpoint(c, 'encodeCheckpoint');
  let payloadLength = 0;
  const params: HeaderParam[] = c.params.map((p) => {
    const entry = { name: p.name, shape: [...p.shape], offset: payloadLength };
    payloadLength += p.data.length;
    return entry;
  });
  const payload = new Uint8Array(payloadLength * 4);
  const view = new DataView(payload.buffer);
  for (const [i, p] of c.params.entries()) {
    const bits = new Uint32Array(p.data.buffer, p.data.byteOffset, p.data.length);
    const base = params[i].offset * 4;
    for (let k = 0; k < bits.length; k++) view.setUint32(base + 4 * k, bits[k], true);
  }
  const header: Header = {
    format: c.format,
    version: c.version,
    task: c.task,
    architecture: c.architecture,
    seed: c.seed,
    step: c.step,
    createdAt: c.createdAt,
    ...(c.origin ? { origin: { ...c.origin } } : {}),
    params,
    payloadLength,
    payloadCrc32: crc32Hex(payload),
  };
  const headerBytes = new TextEncoder().encode(JSON.stringify(header));
  const payloadStart = align4(PREAMBLE_BYTES + headerBytes.length);
  const out = new Uint8Array(payloadStart + payload.length);
  out.set(MAGIC, 0);
  new DataView(out.buffer).setUint32(MAGIC.length, headerBytes.length, true);
  out.set(headerBytes, PREAMBLE_BYTES);
  out.set(payload, payloadStart);
  return out;
}

// ---- decode -----------------------------------------------------------------------------------

/** The checkpoint in `bytes`; a CheckpointError says what is wrong with anything else. */
export function decodeCheckpoint(bytes: Uint8Array): Checkpoint {
  const fail = (why: string): never => {
    throw new CheckpointError(`decodeCheckpoint: ${why}`);
  };
  if (!(bytes instanceof Uint8Array)) fail('expected a Uint8Array of checkpoint bytes');
  if (bytes.length < PREAMBLE_BYTES) {
    if (startsWith(bytes, MAGIC.subarray(0, bytes.length)) && bytes.length > 0)
      fail(`truncated: ${bytes.length} bytes, fewer than the ${PREAMBLE_BYTES}-byte preamble`);
    fail(`not a kfac-lab checkpoint: ${bytes.length} bytes, too short for the ${PREAMBLE_BYTES}-byte preamble`);
  }
  if (!startsWith(bytes, MAGIC))
    fail(`not a kfac-lab checkpoint: the file does not start with "KFACCKPT" (it starts with ${describeStart(bytes)})`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getUint32(MAGIC.length, true);
  if (headerLength > MAX_HEADER_BYTES) fail(`corrupt: a header of ${headerLength} bytes is implausibly long`);
  if (PREAMBLE_BYTES + headerLength > bytes.length)
    fail(`truncated: the header needs ${headerLength} bytes but only ${bytes.length - PREAMBLE_BYTES} follow the preamble`);
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(PREAMBLE_BYTES, PREAMBLE_BYTES + headerLength)));
  } catch (e) {
    fail(`corrupt: the header is not valid UTF-8 JSON (${(e as Error).message})`);
  }
  const header = readHeader(json, fail);
  const payloadStart = align4(PREAMBLE_BYTES + headerLength);
  const payloadBytes = header.payloadLength * 4;
  if (bytes.length < payloadStart + payloadBytes)
    fail(`truncated: the payload needs ${payloadBytes} bytes but only ${Math.max(0, bytes.length - payloadStart)} are there`);
  if (bytes.length > payloadStart + payloadBytes)
    fail(`corrupt: ${bytes.length - payloadStart - payloadBytes} bytes follow the end of the payload`);
  const payload = bytes.subarray(payloadStart, payloadStart + payloadBytes);
  const crc = crc32Hex(payload);
  if (crc !== header.payloadCrc32) fail(`corrupt: the payload's CRC-32 is ${crc}, the header says ${header.payloadCrc32}`);

  const payloadView = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const params: CheckpointParam[] = header.params.map((p) => {
    const length = sizeOf(p.shape);
    const data = new Float32Array(length);
    const bits = new Uint32Array(data.buffer);
    for (let k = 0; k < length; k++) bits[k] = payloadView.getUint32((p.offset + k) * 4, true);
    return { name: p.name, shape: [...p.shape], data };
  });
  const checkpoint: Checkpoint = {
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
    task: header.task as TaskId,
    architecture: header.architecture,
    seed: header.seed,
    step: header.step,
    createdAt: header.createdAt,
    ...(header.origin ? { origin: header.origin } : {}),
    params,
  };
  checkCheckpoint(checkpoint, 'decodeCheckpoint');
  return checkpoint;
}

/** The header's fields, each checked; `fail` throws with the reason. */
function readHeader(json: unknown, fail: (why: string) => never): Header {
  if (!isObject(json)) return fail('corrupt: the header is not a JSON object');
  if (json.format !== CHECKPOINT_FORMAT)
    fail(`not a kfac-lab checkpoint: header format ${show(json.format)}, expected "${CHECKPOINT_FORMAT}"`);
  if (json.version !== CHECKPOINT_VERSION)
    fail(`checkpoint version ${show(json.version)} is not supported (this build reads version ${CHECKPOINT_VERSION})`);
  for (const key of ['task', 'architecture', 'createdAt', 'payloadCrc32'] as const)
    if (typeof json[key] !== 'string') fail(`corrupt: header field "${key}" should be a string, got ${show(json[key])}`);
  for (const key of ['seed', 'step', 'payloadLength'] as const)
    if (!isCount(json[key])) fail(`corrupt: header field "${key}" should be an integer ≥ 0, got ${show(json[key])}`);
  if (json.origin !== undefined) {
    const o = json.origin;
    if (!isObject(o) || typeof o.optimizer !== 'string' || (o.label !== undefined && typeof o.label !== 'string'))
      fail(`corrupt: header field "origin" should be { optimizer: string, label?: string }, got ${show(o)}`);
  }
  if (!Array.isArray(json.params)) fail(`corrupt: header field "params" should be an array, got ${show(json.params)}`);
  const payloadLength = json.payloadLength as number;
  let next = 0;
  const params = (json.params as unknown[]).map((p, i): HeaderParam => {
    const where = `params[${i}]`;
    if (!isObject(p) || typeof p.name !== 'string') return fail(`corrupt: ${where} should have a string "name"`);
    if (!Array.isArray(p.shape) || !p.shape.every(isCount)) return fail(`corrupt: ${where} ("${p.name}") has shape ${show(p.shape)}`);
    // Parameters are stored back to back in order, so each one starts where the previous ended.
    if (p.offset !== next) return fail(`corrupt: ${where} ("${p.name}") starts at ${show(p.offset)}, expected ${next}`);
    next += sizeOf(p.shape as number[]);
    if (next > payloadLength) return fail(`corrupt: ${where} ("${p.name}") ends at ${next}, past the payload's ${payloadLength} values`);
    return { name: p.name, shape: p.shape as number[], offset: next - sizeOf(p.shape as number[]) };
  });
  if (next !== payloadLength) fail(`corrupt: the parameters hold ${next} values but the payload has ${payloadLength}`);
  return { ...(json as unknown as Header), params, payloadLength };
}

// ---- checks -----------------------------------------------------------------------------------

/** A checkpoint object's own consistency (before encoding, after decoding). */
function checkCheckpoint(c: Checkpoint, op: string): void {
  const fail = (why: string): never => {
    throw new CheckpointError(`${op}: ${why}`);
  };
  if (c.format !== CHECKPOINT_FORMAT) fail(`format ${show(c.format)}, expected "${CHECKPOINT_FORMAT}"`);
  if (c.version !== CHECKPOINT_VERSION)
    fail(`checkpoint version ${show(c.version)} is not supported (this build reads version ${CHECKPOINT_VERSION})`);
  if (!isTaskId(c.task)) fail(`unknown task ${show(c.task)} (known: ${Object.keys(TASKS).join(', ')})`);
  if (typeof c.architecture !== 'string' || c.architecture === '')
    fail(`architecture should be a non-empty string, got ${show(c.architecture)}`);
  if (!isCount(c.seed)) fail(`seed should be an integer ≥ 0, got ${show(c.seed)}`);
  if (!isCount(c.step)) fail(`step should be an integer ≥ 0, got ${show(c.step)}`);
  if (typeof c.createdAt !== 'string' || Number.isNaN(Date.parse(c.createdAt)))
    fail(`createdAt should be an ISO 8601 date, got ${show(c.createdAt)}`);
  const seen = new Set<string>();
  for (const p of c.params) {
    if (typeof p.name !== 'string' || p.name === '') fail(`a parameter has no name`);
    if (seen.has(p.name)) fail(`parameter "${p.name}" appears twice`);
    seen.add(p.name);
    if (!Array.isArray(p.shape) || !p.shape.every(isCount)) fail(`parameter "${p.name}" has shape ${show(p.shape)}`);
    if (!(p.data instanceof Float32Array)) fail(`parameter "${p.name}" data should be a Float32Array`);
    if (p.data.length !== sizeOf(p.shape))
      fail(`parameter "${p.name}" has ${p.data.length} values, but shape ${shapeToString(p.shape)} holds ${sizeOf(p.shape)}`);
  }
}

// ---- models -----------------------------------------------------------------------------------

/**
 * The model's parameters (from any backend: every read is issued before the first await) with the
 * metadata. float64 parameters (CPU gradient checks) are rounded to float32, the checkpoint's type.
 */
export async function captureCheckpoint(model: Module, meta: CheckpointMeta): Promise<Checkpoint> {
  if (!isTaskId(meta.task))
    throw new CheckpointError(`captureCheckpoint: unknown task ${show(meta.task)} (known: ${Object.keys(TASKS).join(', ')})`);
  const named = model.parameters();
  const values = await Promise.all(named.map((p) => p.variable.value.read()));
  const checkpoint: Checkpoint = {
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
    task: meta.task,
    architecture: meta.architecture ?? TASKS[meta.task].model,
    seed: meta.seed,
    step: meta.step,
    createdAt: meta.createdAt ?? new Date().toISOString(),
    ...(meta.origin ? { origin: { ...meta.origin } } : {}),
    // A float32 read is copied as is (slice keeps the bits); float64 is rounded.
    params: named.map((p, i) => ({
      name: p.name,
      shape: [...p.variable.shape],
      data: values[i] instanceof Float32Array ? values[i].slice() : Float32Array.from(values[i]),
    })),
  };
  checkCheckpoint(checkpoint, 'captureCheckpoint');
  return checkpoint;
}

/** What the model is expected to be, for restoreCheckpoint's checks. */
export interface RestoreExpectation {
  /** The task the model was built for: the checkpoint must be of the same task. */
  task?: TaskId;
}

/**
 * Load the checkpoint's values into the model's parameters (on the model's backend, in its
 * precision). Everything is checked before anything is written: the checkpoint's architecture is
 * its task's current model, the task is the expected one (when given), and the parameter names
 * and shapes are exactly the model's. A CheckpointError names each mismatch.
 */
export function restoreCheckpoint(model: Module, checkpoint: Checkpoint, expected: RestoreExpectation = {}): void {
  const problems: string[] = [];
  checkCheckpoint(checkpoint, 'restoreCheckpoint');
  if (expected.task !== undefined && expected.task !== checkpoint.task)
    problems.push(`the checkpoint is of task "${checkpoint.task}", the model of task "${expected.task}"`);
  const current = TASKS[checkpoint.task].model;
  if (checkpoint.architecture !== current)
    problems.push(`the checkpoint's architecture "${checkpoint.architecture}" is not task "${checkpoint.task}"'s model "${current}"`);
  const named = model.parameters();
  const stored = new Map(checkpoint.params.map((p) => [p.name, p]));
  const missing = named.filter((p) => !stored.has(p.name)).map((p) => `"${p.name}"`);
  const modelNames = new Set(named.map((p) => p.name));
  const extra = checkpoint.params.filter((p) => !modelNames.has(p.name)).map((p) => `"${p.name}"`);
  if (missing.length > 0) problems.push(`the checkpoint lacks parameter${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`);
  if (extra.length > 0) problems.push(`the model has no parameter${extra.length > 1 ? 's' : ''} ${extra.join(', ')}`);
  for (const p of named) {
    const s = stored.get(p.name);
    if (s && !sameShape(s.shape, p.variable.shape))
      problems.push(
        `parameter "${p.name}" is ${shapeToString(s.shape)} in the checkpoint but ${shapeToString(p.variable.shape)} in the model`,
      );
  }
  if (problems.length > 0) throw new CheckpointError(`restoreCheckpoint: ${problems.join('; ')}`);
  for (const p of named) {
    const s = stored.get(p.name)!;
    p.variable.assign(model.backend.tensor(s.data, s.shape, p.variable.value.dtype));
  }
}

/**
 * A fresh model of the checkpoint's seed (from `placed`, a placed task) holding the checkpoint's
 * values, checked as restoreCheckpoint checks them; the model is disposed when they do not fit.
 */
export function modelFromCheckpoint<M extends Module = Module>(
  placed: { buildModel(seed: number): Module },
  checkpoint: Checkpoint,
  expected: RestoreExpectation = {},
): M {
  const model = placed.buildModel(checkpoint.seed);
  try {
    restoreCheckpoint(model, checkpoint, expected);
  } catch (e) {
    model.dispose();
    throw e;
  }
  return model as M;
}

// ---- helpers ----------------------------------------------------------------------------------

function align4(n: number): number {
  return Math.ceil(n / 4) * 4;
}

function startsWith(bytes: Uint8Array, prefix: Uint8Array): boolean {
  if (bytes.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (bytes[i] !== prefix[i]) return false;
  return true;
}

/** The first bytes, as text when printable (a JSON file, a PNG …), else as hex. */
function describeStart(bytes: Uint8Array): string {
  const head = bytes.subarray(0, 8);
  const printable = head.every((b) => b >= 0x20 && b < 0x7f);
  return printable ? JSON.stringify(String.fromCharCode(...head)) : Array.from(head, (b) => b.toString(16).padStart(2, '0')).join(' ');
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function isCount(x: unknown): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
}

function show(x: unknown): string {
  if (x === undefined) return 'undefined';
  const text = JSON.stringify(x) ?? String(x);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

let crcTable: Uint32Array | null = null;

/** CRC-32 (IEEE 802.3, the zlib/PNG one) as 8 hex digits. */
function crc32Hex(bytes: Uint8Array): string {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) crc = crcTable[(crc ^ bytes[i]) & 0xff] ^ (crc >>> 8);
  return ((crc ^ 0xffffffff) >>> 0).toString(16).padStart(8, '0');
}
