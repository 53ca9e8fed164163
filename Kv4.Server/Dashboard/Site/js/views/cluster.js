// Cluster ($sys): the nodes from `GET /_cluster` and the partitions from `GET /_cluster/partitions`
// (shapes in docs/dashboard.md), refreshed every few seconds. A server without the cluster service answers
// `unknown_service` (404): the page says so and stops asking.

import { ApiError, call } from '../api.js';
import { COLORS } from '../chart.js';
import { fill, h, safeHref } from '../dom.js';
import { number } from '../format.js';

const REFRESH_MS = 5000;

export function mount(container) {
  const output = h('div', { id: 'cluster' }, h('p', { class: 'muted', text: 'Loading…' }));
  container.append(h('section', { class: 'cluster-page' }, h('h2', { text: 'Cluster' }), output));
  let timer = null;
  let stopped = false;

  const load = async () => {
    try {
      const [cluster, partitions] = await Promise.all([call('GET', 'cluster'), call('GET', 'cluster', 'partitions')]);
      if (stopped) return;
      fill(output, render(cluster.v, partitions.v));
      output.dataset.state = 'shown';
    } catch (e) {
      if (stopped) return;
      if (e instanceof ApiError && (e.code === 'unknown_service' || e.status === 404)) {
        output.dataset.state = 'unavailable';
        fill(output, h('p', { class: 'notice', id: 'cluster-unavailable', text: 'Cluster view not available on this server.' }));
        return;
      }
      if (e instanceof ApiError && e.code === 'forbidden') {
        output.dataset.state = 'forbidden';
        fill(output, h('p', { class: 'notice', text: 'The cluster view is for $sys.' }));
        return;
      }
      output.dataset.state = 'error';
      fill(output, h('p', { class: 'error', text: e instanceof ApiError ? `Refused: ${e.code}` : 'The server cannot be reached.' }));
    }
    if (!stopped) timer = setTimeout(load, REFRESH_MS);
  };
  load();
  return {
    unmount() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}

function render(cluster, partitions) {
  const members = Array.isArray(cluster.members) ? cluster.members : [];
  const colorOf = new Map(members.map((m, i) => [m.name, COLORS[i % COLORS.length]]));
  const primaries = new Map();
  for (const p of partitions) primaries.set(p.primary, (primaries.get(p.primary) ?? 0) + 1);
  const behind = partitions.filter(isBehind);

  const membersTable = h('table', { class: 'members', id: 'cluster-members' },
    h('thead', {}, h('tr', {}, ['node', 'state', 'endpoint', 'dashboard', 'sockets', 'requests/s', 'primaries', 'replicas']
      .map((c, i) => h('th', { text: c, class: i >= 4 ? 'num' : null })))),
    h('tbody', {}, members.map(m => {
      const swatch = h('span', { class: 'swatch' });
      swatch.style.backgroundColor = colorOf.get(m.name);
      const url = m.url ? safeHref(m.url) : null;
      const load = m.load ?? {};
      return h('tr', { dataset: { node: m.name, state: m.state } },
        h('td', {}, swatch, m.name,
          m.name === cluster.self ? h('span', { class: 'badge', text: 'this node' }) : null,
          m.name === cluster.leader ? h('span', { class: 'badge leader', text: 'leader' }) : null),
        h('td', {}, h('span', { class: `state-badge state-${m.state}`, text: m.state })),
        h('td', { class: 'muted', text: m.endpoint ?? '—' }),
        h('td', {}, url ? h('a', { href: new URL('_dashboard/', url.endsWith('/') ? url : url + '/').href, rel: 'noopener noreferrer', text: m.url }) : '—'),
        h('td', { class: 'num', text: number(load.sockets ?? 0) }),
        h('td', { class: 'num', text: number(load.rps ?? 0) }),
        h('td', { class: 'num', text: number(load.primaries ?? 0) }),
        h('td', { class: 'num', text: number(load.replicas ?? 0) }));
    })));

  const grid = h('div', { class: 'partition-grid', id: 'cluster-partitions' }, partitions.map(p => {
    const cell = h('div', {
      class: isBehind(p) ? 'cell behind' : 'cell',
      dataset: { partition: p.partition, primary: p.primary ?? '' },
      title: describe(p),
      text: p.partition,
    });
    const color = colorOf.get(p.primary);
    if (color) cell.style.backgroundColor = color;
    return cell;
  }));

  return [
    h('p', { class: 'summary', id: 'cluster-summary' },
      `This node: ${cluster.self ?? '—'} · leader: ${cluster.leader ?? 'none known'} · ${members.length} node${members.length === 1 ? '' : 's'} · ${partitions.length} partitions`),
    h('div', { class: 'panel' }, h('h3', { text: 'Nodes' }), membersTable),
    h('div', { class: 'panel' },
      h('h3', { text: 'Partitions by primary' }),
      h('p', { class: 'muted', text: [...primaries.entries()].map(([node, n]) => `${node}: ${n}`).join(' · ') }),
      grid,
      h('p', { class: 'muted', text: 'Outlined: a replica is out of sync or behind. Hover a partition for its replicas and lag.' })),
    h('div', { class: 'panel' },
      h('h3', { text: behind.length === 0 ? 'Every replica is in sync' : `Partitions with a replica behind (${behind.length})` }),
      behind.length === 0 ? null : h('table', { class: 'behind', id: 'cluster-behind' },
        h('thead', {}, h('tr', {}, ['partition', 'epoch', 'primary', 'replicas', 'in sync', 'lag (records)']
          .map((c, i) => h('th', { text: c, class: i < 2 ? 'num' : null })))),
        h('tbody', {}, behind.map(p => h('tr', { dataset: { partition: p.partition } },
          h('td', { class: 'num', text: p.partition }),
          h('td', { class: 'num', text: p.epoch }),
          h('td', { text: p.primary ?? '—' }),
          h('td', { text: (p.replicas ?? []).join(', ') }),
          h('td', { text: (p.in_sync ?? []).join(', ') }),
          h('td', { text: Object.entries(p.lag ?? {}).map(([n, lag]) => `${n}: ${lag}`).join(', ') })))))),
  ];
}

function isBehind(p) {
  const inSync = new Set(p.in_sync ?? []);
  return (p.replicas ?? []).some(r => !inSync.has(r)) || Object.values(p.lag ?? {}).some(lag => lag > 0);
}

function describe(p) {
  const lag = Object.entries(p.lag ?? {}).map(([n, l]) => `${n} ${l}`).join(', ');
  return `partition ${p.partition}, epoch ${p.epoch}\nprimary ${p.primary ?? '—'}\nreplicas ${(p.replicas ?? []).join(', ') || '—'}\n`
    + `in sync ${(p.in_sync ?? []).join(', ') || '—'}${lag ? `\nlag ${lag}` : ''}`;
}
