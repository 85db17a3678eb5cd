/**
 * The optional minimum poll interval, after the 2009 post "On asynchronous REST interfaces": the server may
 * "refuse any checks earlier than that". Remembers the last poll per job in memory; a process restart forgets,
 * which only ever lets one extra poll through.
 */
export class PollGate {
  private readonly last = new Map<string, number>();

  constructor(private readonly intervalMs: number) {}

  allow(id: string, now: number): boolean {
    if (this.intervalMs <= 0) return true;
    const prev = this.last.get(id);
    if (prev !== undefined && now - prev < this.intervalMs) return false;
    this.last.set(id, now);
    if (this.last.size > 50_000) this.prune(now);
    return true;
  }

  private prune(now: number): void {
    for (const [id, at] of this.last) if (now - at >= this.intervalMs) this.last.delete(id);
  }
}
