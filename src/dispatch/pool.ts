import Piscina from "piscina";
import type { ProviderSnapshot, TestOutcome } from "../providers/types.ts";
import type { SendJob, SendJobResult, WorkerInit, WorkerTask } from "./protocol.ts";

/**
 * Worker threads, one piscina pool of one thread per shard, so every provider always lands on
 * the same thread (the one holding its warm connections). Jobs are handed over in batches: all
 * jobs for a shard that arrive in the same tick go in one task (piscina costs ~0.1 ms a task).
 */
export class ShardPool {
  private readonly shards: Piscina[];
  private readonly pending: Array<Array<{ job: SendJob; resolve: (r: SendJobResult) => void; reject: (e: unknown) => void }>>;
  private readonly scheduled: boolean[];

  constructor(workerFile: string, size: number, init: WorkerInit, onError: (err: unknown) => void = () => {}) {
    this.shards = Array.from({ length: size }, () =>
      new Piscina({ filename: workerFile, minThreads: 1, maxThreads: 1, concurrentTasksPerWorker: 64, idleTimeout: Infinity, workerData: init }),
    );
    // A worker that fails to load or dies is replaced by piscina; its error must not be an
    // unhandled event (that would take the whole gateway down).
    for (const p of this.shards) p.on("error", (err: unknown) => onError(err));
    this.pending = this.shards.map(() => []);
    this.scheduled = this.shards.map(() => false);
  }

  get size(): number {
    return this.shards.length;
  }

  shardOf(providerId: string): number {
    return Number(Bun.hash(providerId) % BigInt(this.shards.length));
  }

  send(job: SendJob): Promise<SendJobResult> {
    const s = this.shardOf(job.provider.record.id);
    return new Promise((resolve, reject) => {
      this.pending[s]!.push({ job, resolve, reject });
      if (!this.scheduled[s]) {
        this.scheduled[s] = true;
        setImmediate(() => this.flush(s));
      }
    });
  }

  private flush(s: number): void {
    this.scheduled[s] = false;
    const items = this.pending[s]!.splice(0, 256);
    if (this.pending[s]!.length) {
      this.scheduled[s] = true;
      setImmediate(() => this.flush(s));
    }
    if (!items.length) return;
    const task: WorkerTask = { kind: "send", jobs: items.map((i) => i.job) };
    this.shards[s]!.run(task).then(
      (results: SendJobResult[]) => items.forEach((it, k) => it.resolve(results[k]!)),
      (err) => items.forEach((it) => it.reject(err)),
    );
  }

  verify(provider: ProviderSnapshot): Promise<TestOutcome & { latency_ms: number }> {
    return this.shards[this.shardOf(provider.record.id)]!.run({ kind: "verify", provider } satisfies WorkerTask);
  }

  async close(providerId: string): Promise<void> {
    await this.shards[this.shardOf(providerId)]!.run({ kind: "close", providerId } satisfies WorkerTask);
  }

  async destroy(): Promise<void> {
    // Warm upstream connections first: a worker holding open sockets kept destroy() waiting.
    await Promise.all(this.shards.map((p) => Promise.race([p.run({ kind: "closeAll" } satisfies WorkerTask), Bun.sleep(2000)]).catch(() => {})));
    await Promise.all(this.shards.map((p) => p.destroy()));
  }
}
