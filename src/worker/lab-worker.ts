// The lab's module Worker: the engine and its WebGPU device live here, so the page never stalls.
// Commands arrive as messages (protocol.ts) and go to a LabSession; its events go back with their
// typed arrays transferred. Data files are fetched from the app's data folder (engine/data/source.ts
// resolves `${BASE_URL}data/` against this script's URL, which has the page's origin).
import { LabSession } from './lab-session.ts';
import type { LabCommand, LabEvent } from './protocol.ts';

const worker = self as unknown as DedicatedWorkerGlobalScope;

const session = new LabSession((event: LabEvent, transfer?: Transferable[]) => worker.postMessage(event, transfer ?? []));

worker.onmessage = (message: MessageEvent<LabCommand>) => {
  void session.handle(message.data);
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
