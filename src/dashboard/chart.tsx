import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';

export interface Line {
  label: string;
  points: [number, number][];
}

const COLORS = ['#2f6fde', '#d9480f', '#2b8a3e', '#ae3ec9', '#e67700', '#0c8599', '#c2255c', '#5f3dc4'];

/** A time chart of a few lines (uPlot: small, fast, canvas), resized to its box. */
export function Chart({ title, lines, unit }: { title: string; lines: Line[]; unit: string }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const times = [...new Set(lines.flatMap((l) => l.points.map((p) => p[0])))].sort((a, b) => a - b);
    const data: uPlot.AlignedData = [
      times.map((t) => t / 1000),
      ...lines.map((l) => {
        const byTime = new Map(l.points);
        return times.map((t) => byTime.get(t) ?? null);
      }),
    ];
    const plot = new uPlot(
      {
        width: Math.max(240, el.clientWidth),
        height: 160,
        title,
        series: [
          {},
          ...lines.map((l, i) => ({
            label: l.label,
            stroke: COLORS[i % COLORS.length],
            width: 1.5,
            spanGaps: false,
          })),
        ],
        axes: [{}, { values: (_u: uPlot, ticks: number[]) => ticks.map((v) => `${v}${unit}`) }],
        legend: { show: lines.length > 1 },
      },
      data,
      el,
    );
    const resize = new ResizeObserver(() =>
      plot.setSize({ width: Math.max(240, el.clientWidth), height: 160 }),
    );
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [title, unit, JSON.stringify(lines)]);
  return <div class="chart" ref={box} />;
}
