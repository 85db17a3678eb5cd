// Small numeric and formatting helpers shared by the sections and the report.

export function percentile(sorted, q) {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

export const fmt = (n, d = 0) => (Number.isFinite(n) ? n.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d }) : 'n/a');
export const ms3 = (n) => `${fmt(n, 3)} ms`;
export const verdict = (ok) => (ok ? 'PASS' : '**FAIL**');
