// A model handed from one page to another in the same tab ("analyse this model" on the race): the
// bytes wait here until the receiving page takes them. Not persisted: a reload forgets it.
export interface HandedModel {
  bytes: Uint8Array;
  /** Where it came from, e.g. "K-FAC-reduce, run 3 of the race". */
  from: string;
}

let pending: HandedModel | null = null;

export function handOver(model: HandedModel): void {
  pending = model;
}

/** The model handed over, once (null when none waits). */
export function takeHandedModel(): HandedModel | null {
  const model = pending;
  pending = null;
  return model;
}
