// The lab's module Worker: the engine and its WebGPU device live here, so the page never stalls.
// Commands arrive as messages (protocol.ts): the race's go to a LabSession, the tools' jobs to a
// JobRunner (jobs/); both post their events back with typed arrays transferred. Jobs run on the
// backend the session opened (the same device as the race), opening one first when none is open.
// Data files are fetched from the app's data folder (engine/data/source.ts resolves
// `${BASE_URL}data/` against this script's URL, which has the page's origin).
import type { Backend } from '../engine/backend/backend.ts';
import { openLabBackend, type BackendOpener } from './gpu-status.ts';
import { JobRunner, type JobCommand } from './jobs/job-runner.ts';
import { JOBS } from './jobs/registry.ts';
import { LabSession } from './lab-session.ts';
import type { LabCommand, LabEvent } from './protocol.ts';

const worker = self as unknown as DedicatedWorkerGlobalScope;
const post = (event: LabEvent, transfer?: Transferable[]) => worker.postMessage(event, transfer ?? []);

/** The backend the session opened last, until the session releases it. */
let sessionBackend: Backend | null = null;

/** The session's opener, noting what it opens so that jobs share it. */
const trackingOpener: BackendOpener = async (prefer) => {
  const opened = await openLabBackend(prefer);
  const backend = opened.backend;
  const destroy = backend.destroy.bind(backend);
  // The session releases a backend by destroying it (switching backends, a lost device).
  backend.destroy = () => {
    if (sessionBackend === backend) sessionBackend = null;
    destroy();
  };
  sessionBackend = backend;
  return opened;
};

const session = new LabSession(post, trackingOpener);

async function jobBackend(): Promise<Backend> {
  if (!sessionBackend) await session.handle({ type: 'open', prefer: 'webgpu' });
  if (!sessionBackend) throw new Error('no backend could be opened for the job');
  return sessionBackend;
}

const jobs = new JobRunner(post, jobBackend, JOBS);

worker.onmessage = (message: MessageEvent<LabCommand>) => {
  const command = message.data;
  if (command?.type === 'job-start' || command?.type === 'job-cancel') jobs.handle(command as JobCommand);
  else void session.handle(command);
};

// Anything that escapes the session still reaches the page as an 'error' event.
worker.addEventListener('unhandledrejection', (event: PromiseRejectionEvent) => {
  const reason: unknown = event.reason;
  const error: LabEvent = {
    type: 'error',
    messages: [`unexpected failure in the lab worker: ${reason instanceof Error ? reason.message : String(reason)}`],
  };
  worker.postMessage(error);
});
