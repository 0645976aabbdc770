/** Plain-text tables for the human part of the output. */
export type Cell = string | number | undefined;

export function fmt(v: Cell, unit = ''): string {
  if (v === undefined || (typeof v === 'number' && !Number.isFinite(v))) return '-';
  if (typeof v === 'string') return v;
  const a = Math.abs(v);
  const s = Number.isInteger(v) ? v.toLocaleString('en-US') : a >= 1000 ? Math.round(v).toLocaleString('en-US') : a >= 100 ? v.toFixed(0) : a >= 10 ? v.toFixed(1) : v.toFixed(2);
  return unit ? `${s} ${unit}` : s;
}

export function table(title: string, header: string[], rows: Cell[][]): string {
  const cells = [header, ...rows.map((r) => r.map((c) => (typeof c === 'number' ? fmt(c) : (c ?? '-'))))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) =>
    r.map((c, i) => (i === 0 ? (c ?? '').padEnd(widths[i]) : (c ?? '').padStart(widths[i]))).join('  ').trimEnd();
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  return [`\n\n## ${title}`, line(cells[0]), rule, ...cells.slice(1).map(line)].join('\n');
}

export function mib(kib: number | undefined): number | undefined {
  return kib === undefined ? undefined : Math.round((kib / 1024) * 10) / 10;
}
