import { pack, unpack } from 'msgpackr';
import { WebSocket } from 'ws';

export type Frame = Record<string, unknown> & { type: string };

/** A small test client for `/v1/ws` that records every frame it receives. */
export class TestWsClient {
  readonly frames: Frame[] = [];
  closeCode: number | undefined;
  readonly #waiters: { predicate: (f: Frame) => boolean; resolve: (f: Frame) => void }[] = [];

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data, binary) => {
      const frame = (binary ? unpack(data as Buffer) : JSON.parse(String(data))) as Frame;
      this.frames.push(frame);
      for (const waiter of [...this.#waiters]) {
        if (waiter.predicate(frame)) {
          this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
          waiter.resolve(frame);
        }
      }
    });
    ws.on('close', (code) => (this.closeCode = code));
  }

  static async connect(baseUrl: string): Promise<TestWsClient> {
    const ws = new WebSocket(`${baseUrl.replace('http', 'ws')}/v1/ws`);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return new TestWsClient(ws);
  }

  send(frame: unknown): void {
    this.ws.send(JSON.stringify(frame));
  }

  sendBinary(frame: unknown): void {
    this.ws.send(pack(frame));
  }

  sendRaw(data: string | Buffer): void {
    this.ws.send(data);
  }

  /** The first frame (already received or still to come) that matches. */
  next(predicate: (f: Frame) => boolean, timeoutMs = 3000): Promise<Frame> {
    const seen = this.frames.find(predicate);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no matching frame arrived')), timeoutMs);
      this.#waiters.push({
        predicate,
        resolve: (f) => {
          clearTimeout(timer);
          resolve(f);
        },
      });
    });
  }

  /** Frames for one request id, in order. */
  framesFor(id: string): Frame[] {
    return this.frames.filter((f) => f.id === id);
  }

  async hello(agentId: string, extra: Record<string, unknown> = {}): Promise<Frame> {
    this.send({ type: 'hello', agentId, ...extra });
    return this.next((f) => f.type === 'welcome' || f.type === 'error');
  }

  close(): void {
    this.ws.close();
  }
}
