import { execFile, execFileSync } from 'node:child_process';
import { chownSync, closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Mounts not unmounted yet: detached when the test process ends (a timed-out test skips its `finally`). */
const live = new Set<string>();
process.once('exit', () => {
  for (const dir of live) {
    try {
      execFileSync('umount', ['-l', dir], { stdio: 'ignore' });
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // left for the machine's temp cleanup
    }
  }
});

/** A small tmpfs mounted for one test: a disk that really fills up. */
export class Tmpfs {
  private constructor(readonly dir: string) {}

  /**
   * Mount a tmpfs of `size` (e.g. `8m`) on a new temp directory, owned by `owner` (uid, gid) if given.
   * undefined, after a warning nobody can miss, where mounting is not permitted (not root, no CAP_SYS_ADMIN);
   * with CI=true that is a failure instead (CI runs as root).
   */
  static async mount(size: string, owner?: [number, number]): Promise<Tmpfs | undefined> {
    const dir = mkdtempSync(join(tmpdir(), 'asyncgate-tmpfs-'));
    try {
      await run('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', dir]);
    } catch (error) {
      rmSync(dir, { recursive: true, force: true });
      const message = `cannot mount a tmpfs (${(error as Error).message.trim()})`;
      if (process.env.CI === 'true') throw new Error(`${message} — CI runs as root and requires it`);
      process.stderr.write(`\n${'!'.repeat(100)}\n!!! SKIPPING: ${message}\n${'!'.repeat(100)}\n\n`);
      console.warn(`SKIPPING: ${message}`);
      return undefined;
    }
    live.add(dir);
    if (owner) chownSync(dir, ...owner);
    return new Tmpfs(dir);
  }

  /** Fill what is left of the disk with one file, until the kernel says ENOSPC. Returns the file's path. */
  fill(name = 'filler'): string {
    const path = join(this.dir, name);
    const fd = openSync(path, 'w');
    const block = Buffer.alloc(64 * 1024, 1);
    try {
      for (;;) writeSync(fd, block);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
    } finally {
      closeSync(fd);
    }
    return path;
  }

  /** Unmount (lazily if something still holds a file open) and remove the mount point. */
  async unmount(): Promise<void> {
    live.delete(this.dir);
    await run('umount', [this.dir]).catch(() => run('umount', ['-l', this.dir]));
    rmSync(this.dir, { recursive: true, force: true });
  }
}
