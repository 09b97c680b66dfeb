// The page's one lab worker, shared by every page: the race's store and the tools' jobs talk to the
// same worker, so they share its backend (one WebGPU device) and a model can move between them.
import { LabClient } from './client.ts';

let client: LabClient | null = null;

/** The lab worker's client, created on first use. */
export function labWorker(): LabClient {
  client ??= new LabClient();
  return client;
}
