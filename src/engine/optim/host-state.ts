// Host copies of device tensors, for carrying a training run across a lost device (the lab's
// periodic host copy, docs/architecture.md): read many tensors with one transfer per dtype, and put
// them back on another backend. Also the shape of an optimizer's exported state.
import type { Backend } from '../backend/backend.ts';
import { keep, scope, type DType, type Tensor, type TypedArray } from '../tensor.ts';

/** A tensor's values on the host. */
export interface HostTensor {
  shape: number[];
  dtype: DType;
  data: TypedArray;
}

/**
 * What an optimizer carries to a new device: per-parameter state by parameter name (moments,
 * velocities, update counts), counters (K-FAC: steps taken, damping), K-FAC's running factors per
 * layer and the state of its fallback optimizer.
 */
export interface OptimizerHostState {
  /** The optimizer's name, checked on import. */
  optimizer: string;
  params: Record<string, Record<string, HostTensor | number>>;
  counters: Record<string, number>;
  factors?: Record<string, { A: HostTensor; G: HostTensor; folded: boolean }>;
  fallback?: OptimizerHostState;
}

/** Refuse state exported by another kind of optimizer. */
export function checkHostState(name: string, state: OptimizerHostState): void {
  if (state.optimizer !== name) throw new Error(`${name}.importState: the state was exported by "${state.optimizer}"`);
}

/** Read `tensors` to the host with one read per dtype (a flat concatenation on the device). */
export async function readToHost(tensors: readonly Tensor[]): Promise<HostTensor[]> {
  const out: HostTensor[] = new Array<HostTensor>(tensors.length);
  const byDtype = new Map<DType, number[]>();
  tensors.forEach((t, i) => byDtype.set(t.dtype, [...(byDtype.get(t.dtype) ?? []), i]));
  for (const [dtype, indices] of byDtype) {
    const be = tensors[indices[0]].backend;
    const flat = scope(() =>
      keep(
        indices.length === 1
          ? be.reshape(tensors[indices[0]], [tensors[indices[0]].size])
          : be.concat(
              indices.map((i) => be.reshape(tensors[i], [tensors[i].size])),
              0,
            ),
      ),
    );
    let data: TypedArray;
    try {
      data = await flat.read();
    } finally {
      flat.dispose();
    }
    let offset = 0;
    for (const i of indices) {
      const t = tensors[i];
      out[i] = { shape: [...t.shape], dtype, data: data.slice(offset, offset + t.size) };
      offset += t.size;
    }
  }
  return out;
}

/** A new (kept) tensor on `backend` holding a host copy's values. */
export function toDevice(backend: Backend, host: HostTensor): Tensor {
  return keep(backend.tensor(host.data, host.shape, host.dtype));
}

export function isHostTensor(value: unknown): value is HostTensor {
  return typeof value === 'object' && value !== null && 'data' in value && 'shape' in value;
}
