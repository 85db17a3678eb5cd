// Preloaded into the gateway child by bench/idle-streams.mjs (`node --expose-gc --import ./bench/memory-probe.mjs
// dist/cli/main.js serve ...`) to read its memory from inside without touching src/.
//
// On SIGUSR2 it runs a full GC (when --expose-gc is on, so the heap figure is what is live, not garbage not yet
// collected) and writes one JSON line {"asyncgateMemoryProbe": {...}} on stderr: process.memoryUsage(). (CPU is
// read from /proc/<pid>/stat by the benchmark, so these GCs fall outside its measured windows.) It exits the process when its stdin closes, so a gateway started by a
// benchmark that died does not outlive it.
process.on('SIGUSR2', () => {
  globalThis.gc?.();
  const m = process.memoryUsage();
  const out = { rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external };
  process.stderr.write(`${JSON.stringify({ asyncgateMemoryProbe: out })}\n`);
});

process.stdin.on('end', () => process.kill(process.pid, 'SIGTERM')).resume();
process.stdin.unref?.();
