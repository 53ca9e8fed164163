// A small SVG line chart: time on x, one line per series, points marked (hover shows time and value).
// Each series' group carries data-series and data-points, so what is drawn can be read back.

import { h, s } from './dom.js';
import { dateTime, number } from './format.js';

export const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#17becf', '#8c564b', '#e377c2'];

const MARGIN = { left: 64, right: 20, top: 14, bottom: 30 };
const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const TIME_STEPS = [SECOND, 5 * SECOND, 15 * SECOND, 30 * SECOND, MINUTE, 5 * MINUTE, 15 * MINUTE, 30 * MINUTE,
  HOUR, 3 * HOUR, 6 * HOUR, 12 * HOUR, DAY, 7 * DAY, 30 * DAY, 365 * DAY];

/**
 * series: [{ name, points: [[unixMs, number], ...] }] (points in time order). Options: title, zero (the y axis
 * includes 0), width and height of the drawing. Returns a <figure>.
 */
export function lineChart(series, { title = '', zero = false, width = 760, height = 240 } = {}) {
  const drawn = series.filter(one => one.points.length > 0);
  const figure = h('figure', { class: 'chart', dataset: { seriesCount: String(drawn.length) } });
  if (title) figure.append(h('figcaption', { text: title }));
  if (drawn.length === 0) {
    figure.append(h('p', { class: 'empty', text: 'Nothing to draw.' }));
    return figure;
  }

  const all = drawn.flatMap(one => one.points);
  let [x0, x1] = extent(all.map(p => p[0]));
  if (x0 === x1) [x0, x1] = [x0 - 30 * SECOND, x1 + 30 * SECOND];
  let [y0, y1] = extent(all.map(p => p[1]));
  if (zero) [y0, y1] = [Math.min(0, y0), Math.max(0, y1)];
  if (y0 === y1) [y0, y1] = [y0 - (Math.abs(y0) || 1) * 0.1, y1 + (Math.abs(y1) || 1) * 0.1];
  const yStep = niceStep((y1 - y0) / 4);
  y0 = Math.floor(y0 / yStep) * yStep;
  y1 = Math.ceil(y1 / yStep) * yStep;

  const plotW = width - MARGIN.left - MARGIN.right;
  const plotH = height - MARGIN.top - MARGIN.bottom;
  const px = t => MARGIN.left + ((t - x0) / (x1 - x0)) * plotW;
  const py = v => MARGIN.top + plotH - ((v - y0) / (y1 - y0)) * plotH;

  const svg = s('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': title || 'chart' });
  for (let v = y0, i = 0; v <= y1 + yStep / 2 && i < 20; v += yStep, i++) {
    const y = py(v);
    svg.append(
      s('line', { class: 'grid', x1: MARGIN.left, x2: width - MARGIN.right, y1: y, y2: y }),
      s('text', { class: 'tick', x: MARGIN.left - 6, y: y + 4, 'text-anchor': 'end', text: number(roundTo(v, yStep)) }));
  }
  const xStep = TIME_STEPS.find(step => (x1 - x0) / step <= 6) ?? TIME_STEPS.at(-1);
  const offset = new Date(x0).getTimezoneOffset() * MINUTE;
  for (let t = Math.ceil((x0 - offset) / xStep) * xStep + offset, i = 0; t <= x1 && i < 12; t += xStep, i++) {
    const x = px(t);
    svg.append(
      s('line', { class: 'grid', x1: x, x2: x, y1: MARGIN.top, y2: MARGIN.top + plotH }),
      s('text', { class: 'tick', x, y: height - 10, 'text-anchor': 'middle', text: timeLabel(t, xStep, x1 - x0) }));
  }
  svg.append(s('rect', { class: 'frame', x: MARGIN.left, y: MARGIN.top, width: plotW, height: plotH, fill: 'none' }));

  drawn.forEach((one, i) => {
    const color = COLORS[i % COLORS.length];
    const group = s('g', { class: 'series', 'data-series': one.name, 'data-points': one.points.length });
    group.append(s('polyline', {
      fill: 'none', stroke: color, 'stroke-width': 2, 'stroke-linejoin': 'round',
      points: one.points.map(([t, v]) => `${px(t).toFixed(1)},${py(v).toFixed(1)}`).join(' '),
    }));
    const radius = one.points.length > 30 ? 2 : 3.2;
    for (const [t, v] of one.points) {
      group.append(s('circle', { cx: px(t).toFixed(1), cy: py(v).toFixed(1), r: radius, fill: color, 'data-t': t, 'data-v': v },
        s('title', { text: `${one.name} = ${number(v)}\n${dateTime(t)}` })));
    }
    svg.append(group);
  });
  figure.append(svg);

  const legend = h('ul', { class: 'legend' });
  drawn.forEach((one, i) => {
    const swatch = h('span', { class: 'swatch' });
    swatch.style.backgroundColor = COLORS[i % COLORS.length]; // CSSOM, which the style-src policy allows
    legend.append(h('li', {}, swatch, one.name));
  });
  figure.append(legend);
  return figure;
}

function extent(values) {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return [lo, hi];
}

/** 1, 2 or 5 times a power of ten, at least raw. */
function niceStep(raw) {
  const power = 10 ** Math.floor(Math.log10(raw));
  const f = raw / power;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * power;
}

function roundTo(v, step) {
  const decimals = Math.max(0, -Math.floor(Math.log10(step)));
  return Number(v.toFixed(Math.min(decimals, 12)));
}

function timeLabel(t, step, span) {
  const d = new Date(t);
  const two = n => String(n).padStart(2, '0');
  const hm = `${two(d.getHours())}:${two(d.getMinutes())}`;
  if (step < MINUTE) return `${hm}:${two(d.getSeconds())}`;
  if (span <= DAY) return hm;
  if (step < DAY) return `${two(d.getMonth() + 1)}-${two(d.getDate())} ${hm}`;
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())}`;
}
