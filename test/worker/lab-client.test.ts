// LabClient against a stand-in Worker: commands are posted as they are, events fan out to every
// listener (one failing listener does not starve the others), worker failures become 'error'
// events, and dispose terminates the worker.
import { describe, expect, it, vi } from 'vitest';
import { LabClient } from '../../src/ui/lab/client.ts';
import type { LabCommand, LabEvent } from '../../src/worker/protocol.ts';

class FakeWorker {
  onmessage: ((e: MessageEvent) => void) | null = null;
  onerror: ((e: ErrorEvent) => void) | null = null;
  onmessageerror: ((e: MessageEvent) => void) | null = null;
  readonly posted: unknown[] = [];
  terminated = false;

  postMessage(message: unknown): void {
    this.posted.push(message);
  }

  terminate(): void {
    this.terminated = true;
  }

  emit(event: LabEvent): void {
    this.onmessage?.({ data: event } as MessageEvent);
  }
}

function setup() {
  const worker = new FakeWorker();
  const client = new LabClient(() => worker as unknown as Worker);
  return { worker, client };
}

describe('LabClient', () => {
  it('posts commands and delivers events to every subscriber until it unsubscribes', () => {
    const { worker, client } = setup();
    const command: LabCommand = { type: 'curvature', run: 1, layer: null, every: 5 };
    client.send(command);
    expect(worker.posted).toEqual([command]);

    const a: LabEvent[] = [];
    const b: LabEvent[] = [];
    const stopA = client.subscribe((e) => a.push(e));
    client.subscribe((e) => b.push(e));
    worker.emit({ type: 'status', status: 'running' });
    stopA();
    worker.emit({ type: 'status', status: 'done' });
    expect(a.map((e) => e.type === 'status' && e.status)).toEqual(['running']);
    expect(b.map((e) => e.type === 'status' && e.status)).toEqual(['running', 'done']);
  });

  it('a throwing listener does not keep the event from the others', () => {
    const { worker, client } = setup();
    const spy = vi.spyOn(console, 'error').mockImplementation(() => {});
    const seen: string[] = [];
    client.subscribe(() => {
      throw new Error('boom');
    });
    client.subscribe((e) => seen.push(e.type));
    worker.emit({ type: 'status', status: 'idle' });
    expect(seen).toEqual(['status']);
    expect(spy).toHaveBeenCalledOnce();
    spy.mockRestore();
  });

  it('turns worker failures into error events', () => {
    const { worker, client } = setup();
    const errors: string[][] = [];
    client.subscribe((e) => e.type === 'error' && errors.push(e.messages));
    const preventDefault = vi.fn();
    worker.onerror?.({ message: 'SyntaxError: bad module', preventDefault } as unknown as ErrorEvent);
    worker.onmessageerror?.({} as MessageEvent);
    expect(preventDefault).toHaveBeenCalled();
    expect(errors[0][0]).toMatch(/the lab worker failed: SyntaxError: bad module/);
    expect(errors[1][0]).toMatch(/could not be read/);
  });

  it('dispose terminates the worker; later sends and events go nowhere', () => {
    const { worker, client } = setup();
    const seen: LabEvent[] = [];
    client.subscribe((e) => seen.push(e));
    client.dispose();
    expect(worker.terminated).toBe(true);
    client.send({ type: 'pause' });
    worker.emit({ type: 'status', status: 'idle' });
    expect(worker.posted).toEqual([]);
    expect(seen).toEqual([]);
  });
});
