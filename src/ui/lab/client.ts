// The page's handle on the lab worker: commands out, events in (src/worker/protocol.ts). Listeners
// are plain callbacks, so the store can route metric batches to the charts without React renders.
import type { LabCommand, LabEvent } from '../../worker/protocol.ts';

export type LabListener = (event: LabEvent) => void;

function defaultWorker(): Worker {
  return new Worker(new URL('../../worker/lab-worker.ts', import.meta.url), { type: 'module', name: 'kfac-lab' });
}

export class LabClient {
  private readonly worker: Worker;
  private readonly listeners = new Set<LabListener>();
  private disposed = false;

  constructor(workerFactory: () => Worker = defaultWorker) {
    this.worker = workerFactory();
    this.worker.onmessage = (message: MessageEvent<LabEvent>) => this.emit(message.data);
    // A worker that fails to load or throws outside the session would otherwise fail silently.
    this.worker.onerror = (event: ErrorEvent) => {
      event.preventDefault();
      this.emit({ type: 'error', messages: [`the lab worker failed: ${event.message || 'it could not be loaded'}`] });
    };
    this.worker.onmessageerror = () => this.emit({ type: 'error', messages: ['a message from the lab worker could not be read'] });
  }

  send(command: LabCommand): void {
    if (this.disposed) return;
    this.worker.postMessage(command);
  }

  /** Returns the function that unsubscribes. */
  subscribe(listener: LabListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** Terminate the worker (its backend and experiment go with it). */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.listeners.clear();
    this.worker.terminate();
  }

  private emit(event: LabEvent): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(event);
      } catch (e) {
        // One failing listener must not starve the others (or lose the event for them).
        console.error('LabClient listener failed', e);
      }
    }
  }
}
