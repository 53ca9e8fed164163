// Stats: a measurement (default `api:3`, the host's count of the account's API calls) over time, per entity and
// in total, from `_stats` with `break=1`. The entities are the paths of layer `stats` (`_ds?l=stats`).

import { ApiError, call, listAll } from '../api.js';
import { lineChart } from '../chart.js';
import { fill, h } from '../dom.js';
import { number, timeOfDay } from '../format.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
// depth: the time group depth of `gs` (5 = minutes), which is also what `break=1` groups by.
const RANGES = {
  hour: { label: 'last hour, per minute', depth: 5, step: MINUTE, count: 60 },
  day: { label: 'last 24 hours, per hour', depth: 4, step: HOUR, count: 24 },
  month: { label: 'last 30 days, per day', depth: 3, step: DAY, count: 30 },
};
const MAX_ENTITIES = 24;
const MAX_LINES = 8;
const REFRESH_MS = 15_000;

export function mount(container, params) {
  const measurement = h('input', { id: 'stats-measurement', value: params.get('m') || 'api:3', spellcheck: 'false' });
  const range = h('select', { id: 'stats-range' },
    Object.entries(RANGES).map(([key, r]) => h('option', { value: key, text: r.label })));
  range.value = RANGES[params.get('range')] ? params.get('range') : 'hour';
  const output = h('div', { id: 'stats' });
  const status = h('span', { class: 'muted', id: 'stats-status' });
  let loading = false;
  let token = 0;

  const load = async () => {
    loading = true;
    const mine = ++token;
    status.textContent = 'Loading…';
    try {
      const view = await read(measurement.value.trim() || 'api:3', RANGES[range.value]);
      if (mine === token) fill(output, view);
      if (mine === token) status.textContent = `Updated ${timeOfDay(Date.now())}`;
    } catch (e) {
      if (mine === token) fill(output, h('p', { class: 'error', text: e instanceof ApiError ? `Refused: ${e.code}` : 'The server cannot be reached.' }));
      status.textContent = '';
    } finally {
      if (mine === token) loading = false;
    }
  };

  container.append(h('section', { class: 'stats-page' },
    h('form', {
      class: 'panel controls', onsubmit: e => {
        e.preventDefault();
        load();
      },
    },
    h('label', { for: 'stats-measurement', text: 'Measurement' }), measurement,
    h('label', { for: 'stats-range', text: 'Range' }), range,
    h('button', { type: 'submit', id: 'stats-refresh', text: 'Show' }), status),
    output));
  range.addEventListener('change', load);
  load();
  const timer = setInterval(() => { if (!loading) load(); }, REFRESH_MS);
  return { unmount: () => clearInterval(timer) };
}

async function read(measurement, spec) {
  const { items: entities } = await listAll('ds', '', { l: 'stats' }, 1000);
  if (entities.length === 0) {
    return h('p', { class: 'muted', id: 'stats-empty', text: 'No stats recorded yet. Recorded values show after the next flush (Kv4:Stats:FlushSeconds, 15 s by default).' });
  }
  const now = Date.now();
  const start = floorTo(now - (spec.count - 1) * spec.step, spec.depth);
  const gs = group(start, spec.depth);
  const ge = group(now, spec.depth);
  const chosen = entities.slice(0, MAX_ENTITIES);
  const replies = await pool(chosen, 4, entity => call('GET', 'stats', entity, { l: measurement, gs, ge, break: 1 }));

  const slots = [];
  for (let t = start; t <= now; t += spec.step) slots.push(t);
  const total = new Map(slots.map(t => [t, 0]));
  const rows = [];
  chosen.forEach((entity, i) => {
    const groups = replies[i].v;
    const perSlot = new Map(slots.map(t => [t, 0]));
    let sum = 0;
    let count = 0;
    let min = Infinity;
    let max = -Infinity;
    for (const [key, rollup] of Object.entries(groups)) {
      const t = parseGroup(key);
      if (perSlot.has(t)) perSlot.set(t, perSlot.get(t) + rollup.sum);
      if (total.has(t)) total.set(t, total.get(t) + rollup.sum);
      sum += rollup.sum;
      count += rollup.count;
      if (rollup.min !== null) min = Math.min(min, rollup.min);
      if (rollup.max !== null) max = Math.max(max, rollup.max);
    }
    if (count > 0) rows.push({ entity, sum, count, min, max, points: [...perSlot.entries()] });
  });
  rows.sort((a, b) => b.sum - a.sum || a.entity.localeCompare(b.entity));
  if (rows.length === 0) {
    return h('p', { class: 'muted', id: 'stats-empty', text: `No values of ${measurement} in this range.` });
  }

  const unit = spec.depth === 5 ? 'minute' : spec.depth === 4 ? 'hour' : 'day';
  const totalChart = lineChart([{ name: `all entities`, points: [...total.entries()] }], { title: `${measurement}: sum per ${unit}, all entities`, zero: true });
  totalChart.id = 'stats-total';
  const entityChart = lineChart(rows.slice(0, MAX_LINES).map(r => ({ name: r.entity, points: r.points })),
    { title: `${measurement}: sum per ${unit}, by entity${rows.length > MAX_LINES ? ` (the ${MAX_LINES} largest)` : ''}`, zero: true });
  entityChart.id = 'stats-entities';
  const table = h('table', { class: 'stats-table', id: 'stats-table' },
    h('thead', {}, h('tr', {}, ['entity', 'sum', 'count', 'min', 'max'].map(c => h('th', { text: c, class: c === 'entity' ? null : 'num' })))),
    h('tbody', {}, rows.map(r => h('tr', { dataset: { entity: r.entity } },
      h('td', { text: r.entity }),
      h('td', { class: 'num', text: number(r.sum) }),
      h('td', { class: 'num', text: number(r.count) }),
      h('td', { class: 'num', text: number(r.min) }),
      h('td', { class: 'num', text: number(r.max) })))));
  return [
    h('div', { class: 'charts' }, h('div', { class: 'panel' }, totalChart), h('div', { class: 'panel' }, entityChart)),
    h('div', { class: 'panel' }, h('h3', { text: 'Totals over the range' }), table,
      entities.length > MAX_ENTITIES ? h('p', { class: 'muted', text: `The first ${MAX_ENTITIES} of ${entities.length} entities.` }) : null),
  ];
}

/** The start of the UTC group of depth (3 day, 4 hour, 5 minute) that holds ms. */
function floorTo(ms, depth) {
  const d = new Date(ms);
  const parts = [d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes()].slice(0, depth);
  while (parts.length < 5) parts.push(parts.length === 2 ? 1 : 0);
  return Date.UTC(...parts);
}

/** The `Y:M:D:h:m` time group (UTC) of ms, cut to depth. */
function group(ms, depth) {
  const d = new Date(ms);
  return [d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes()].slice(0, depth).join(':');
}

function parseGroup(key) {
  const [y, m = 1, d = 1, hh = 0, mm = 0] = key.split(':').map(Number);
  return Date.UTC(y, m - 1, d, hh, mm);
}

/** Runs fn over items with at most width calls in flight; results in item order. */
async function pool(items, width, fn) {
  const results = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
  return results;
}
