/**
 * Group commit for PostgreSQL: calls made in the same event-loop turn are sent as ONE statement (one
 * transaction, one WAL flush). This matters more here than in SQLite: a transaction that NOTIFYs holds a
 * database-wide lock from its pre-commit to its end, so notifying transactions commit one at a time — one
 * batch of 50 jobs costs about what one job alone does.
 *
 * If a batch fails (one bad row fails the whole statement), each call is run again alone, so one caller's
 * error never becomes another's.
 */
export class Batcher<I, O> {
  private pending: Array<{ input: I; resolve: (o: O) => void; reject: (e: unknown) => void }> = [];
  private scheduled = false;

  constructor(
    /** Run a batch (of one or more); returns one output per input, in order. */
    private readonly runMany: (inputs: I[]) => Promise<O[]>,
    private readonly maxBatch = 500,
    /** Told of each batch committed: seconds it took, calls in it. */
    private readonly onCommit?: (seconds: number, calls: number) => void,
  ) {}

  run(input: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.pending.push({ input, resolve, reject });
      if (this.pending.length >= this.maxBatch) this.flush();
      else if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return;
    const started = performance.now();
    this.runMany(batch.map((b) => b.input)).then(
      (outputs) => {
        this.onCommit?.((performance.now() - started) / 1000, batch.length);
        batch.forEach((b, i) => b.resolve(outputs[i]!));
      },
      (error: unknown) => {
        if (batch.length === 1) return batch[0]!.reject(error);
        for (const b of batch) this.runOne(b.input).then(b.resolve, b.reject);
      },
    );
  }

  /** One call alone: a batch of one (the fallback after a failed batch). */
  private async runOne(input: I): Promise<O> {
    return (await this.runMany([input]))[0]!;
  }
}
