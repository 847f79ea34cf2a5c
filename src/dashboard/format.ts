export function num(n: number | undefined, digits = 1): string {
  if (n === undefined || Number.isNaN(n)) return '–';
  if (n >= 1000) return `${(n / 1000).toFixed(1)}k`;
  return n.toFixed(n >= 100 ? 0 : digits);
}

export function ms(n: number | undefined): string {
  if (!n) return '–';
  return n >= 1000 ? `${(n / 1000).toFixed(2)} s` : `${n.toFixed(n >= 10 ? 0 : 1)} ms`;
}

export function pct(n: number | undefined): string {
  if (n === undefined || Number.isNaN(n)) return '–';
  return `${(n * 100).toFixed(n > 0 && n < 0.01 ? 2 : 1)} %`;
}

export function ago(iso: string | number): string {
  const s = Math.max(0, Math.round((Date.now() - new Date(iso).getTime()) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  return `${Math.round(s / 3600)} h ago`;
}

export function circuitName(state: string | undefined): string {
  return (state ?? 'closed').replace('_', '-');
}
