// CPU of a process tree (Linux /proc): a root process and every descendant of it, e.g. a cluster primary
// and the workers it forks. Descendants are found by their parent pid (/proc/<pid>/stat field 4), and the
// tree is re-scanned while a load runs, since workers may be started, restarted or stopped during it.
//
// Each process of the tree counts utime + stime (its own CPU, every thread included) + cutime + cstime (the
// CPU of its children that have exited and that it has waited for). Summed over the processes alive at a
// moment, that counts every CPU-second the tree has used exactly once: a worker that exits during the load is
// reaped by the primary (node's cluster / child_process does), and its CPU moves into the primary's cutime /
// cstime. A worker born during the load counts from 0. Only a descendant that exits unreaped, or whose parent
// exits without waiting for it, can slip through: the re-scans keep the last figure seen for every pid, and
// `lostMs` reports the CPU of pids that vanished without their parent's cutime growing by as much.
import { readFileSync, readdirSync } from 'node:fs';
import { CLK_TCK } from './cpu.mjs'; // (cpu.mjs imports this file too: CLK_TCK is only read at call time)

/** /proc/<pid>/stat → { ppid, ownMs: utime + stime, childMs: cutime + cstime, start } (or null: gone). */
export function procStat(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // f[0] is field 3 (state): field n is f[n - 3]
    return {
      comm: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')),
      ppid: Number(f[1]),
      ownMs: ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK,
      childMs: ((Number(f[13]) + Number(f[14])) * 1000) / CLK_TCK,
      start: Number(f[19]), // starttime: tells a re-used pid from the process that held it
    };
  } catch {
    return null;
  }
}

/** Every process on the machine: pid → stat. */
export function allProcs() {
  const out = new Map();
  let names;
  try {
    names = readdirSync('/proc');
  } catch {
    return out;
  }
  for (const name of names) {
    const c = name.charCodeAt(0);
    if (c < 48 || c > 57) continue;
    const st = procStat(name);
    if (st) out.set(Number(name), st);
  }
  return out;
}

/** The root and its descendants alive now: pid → stat (root first). Empty when the root is gone. */
export function treeNow(rootPid, procs = allProcs()) {
  const tree = new Map();
  const root = procs.get(rootPid);
  if (!root) return tree;
  tree.set(rootPid, root);
  const kids = new Map();
  for (const [pid, st] of procs) {
    if (!kids.has(st.ppid)) kids.set(st.ppid, []);
    kids.get(st.ppid).push(pid);
  }
  const todo = [rootPid];
  while (todo.length) {
    for (const k of kids.get(todo.pop()) ?? []) {
      if (tree.has(k)) continue;
      tree.set(k, procs.get(k));
      todo.push(k);
    }
  }
  return tree;
}

const treeMs = (tree) => [...tree.values()].reduce((a, st) => a + st.ownMs + st.childMs, 0);

/**
 * Start accounting the trees of several roots (name → pid) at once; `stop()` gives, per name, the CPU ms the
 * tree used since the start, the processes seen (max alive at once, pids ever seen) and `lostMs` (see above).
 * Re-scans every `intervalMs` (one pass over /proc for all trees).
 */
export function treeSampler(roots, intervalMs = 250) {
  const state = Object.fromEntries(
    Object.entries(roots).map(([name, pid]) => {
      const t = treeNow(pid);
      return [name, { pid, startMs: treeMs(t), maxAlive: t.size, seen: new Map([...t].map(([p, st]) => [p, st])), lostMs: 0 }];
    }),
  );
  const scan = () => {
    const procs = allProcs();
    for (const s of Object.values(state)) {
      const t = treeNow(s.pid, procs);
      s.maxAlive = Math.max(s.maxAlive, t.size);
      // A pid seen before and gone now: was its CPU taken into its parent's cutime/cstime?
      for (const [pid, last] of s.seen) {
        if (t.has(pid) && t.get(pid).start === last.start) continue;
        const parent = t.get(last.ppid);
        const parentBefore = s.seen.get(last.ppid);
        const absorbed = parent && parentBefore ? parent.childMs - parentBefore.childMs : 0;
        if (absorbed + 1e-9 < last.ownMs + last.childMs) s.lostMs += last.ownMs + last.childMs - Math.max(0, absorbed);
        s.seen.delete(pid);
        s.gone = (s.gone ?? 0) + 1;
      }
      for (const [pid, st] of t) s.seen.set(pid, st);
    }
  };
  const everSeen = Object.fromEntries(Object.keys(state).map((k) => [k, new Set(state[k].seen.keys())]));
  const timer = setInterval(() => {
    scan();
    for (const [k, s] of Object.entries(state)) for (const pid of s.seen.keys()) everSeen[k].add(pid);
  }, intervalMs);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      scan();
      const out = {};
      for (const [k, s] of Object.entries(state)) {
        for (const pid of s.seen.keys()) everSeen[k].add(pid);
        const t = treeNow(s.pid);
        // The root gone (it exited during the load): fall back to the last figures seen.
        const endMs = t.size ? treeMs(t) : treeMs(s.seen);
        out[k] = { ms: endMs - s.startMs, maxAlive: s.maxAlive, pidsSeen: everSeen[k].size, exited: s.gone ?? 0, lostMs: s.lostMs, pids: [...everSeen[k]] };
      }
      return out;
    },
  };
}

/** Every descendant of rootPid alive now (not the root itself): to SIGKILL what a stopped primary left. */
export const descendants = (rootPid) => [...treeNow(rootPid).keys()].filter((p) => p !== rootPid);

/**
 * What the rest of the machine used between two allProcs() snapshots, leaving out `ours` (a Set of pids):
 * kernel threads (kthreadd, pid 2, and its children: kworkers, the filesystem journal, ksoftirqd) and
 * every other process, with the few that used most (and their command lines). Processes born and gone
 * between the snapshots are missed here; the machine-wide total (/proc/stat) still counts them.
 */
export function othersBetween(before, after, ours, top = 3) {
  let kernelMs = 0;
  let otherMs = 0;
  const users = [];
  for (const [pid, b] of after) {
    if (ours.has(pid)) continue;
    const a = before.get(pid);
    // Own CPU only: a reaped child's whole life lands in its parent's cutime at once, which would charge a
    // shell the minutes of a test run that ended in the window. (The "unattributed" rest still shows it.)
    const ms = a && a.start === b.start ? b.ownMs - a.ownMs : b.ownMs;
    if (ms <= 0) continue;
    if (pid === 2 || b.ppid === 2) kernelMs += ms;
    else {
      otherMs += ms;
      users.push({ pid, comm: b.comm, ms });
    }
  }
  users.sort((x, y) => y.ms - x.ms);
  const withCmd = users.slice(0, top).map((u) => {
    try {
      const cmd = readFileSync(`/proc/${u.pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
      return { ...u, cmd: cmd.length > 80 ? `${cmd.slice(0, 77)}...` : cmd };
    } catch {
      return u;
    }
  });
  return { kernelMs, otherMs, top: withCmd };
}
