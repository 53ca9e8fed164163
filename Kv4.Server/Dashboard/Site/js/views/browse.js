// Browse: the bucket's layers, a layer's path tree, a path's keys, a key's value and history (table and chart),
// and the live changes under the selected path. With an instant ("as of", `at` in the address), the keys and the
// value are the path's as they were then (the API's `?at=`); the history stays whole, the version of that instant marked.

import { ApiError, call, listAll } from '../api.js';
import { lineChart } from '../chart.js';
import { fill, h } from '../dom.js';
import { compact, dateTime, numericFields, timeOfDay, withoutVersion } from '../format.js';
import { watch } from '../watch.js';

// What can be shown of each layer, by the service that owns it (Kv4.Services/Api/BuiltInServices.cs): data and cfg
// are generic layers (keys, values, histories); subs lists a channel's members, auth a path's deny rules. Other
// layers are read through their own services (accounts, sessions, stats): of those the tree shows the paths.
const LAYERS = {
  data: { keys: true, values: true, history: true, watch: true },
  cfg: { keys: true, values: true, history: true, watch: true },
  subs: { keys: true, values: true, watch: true },
  auth: { keys: true, watch: true },
};
const MAX_PATHS = 5000;
const MAX_KEYS = 2000;
const HISTORY_PAGE = 500;
const MAX_CHART_FIELDS = 8;
const MAX_LIVE_ROWS = 200;

export const link = ({ l, p, k, at }) => {
  const query = new URLSearchParams({ l });
  if (p) query.set('p', p);
  if (k) query.set('k', k);
  if (at) query.set('at', at);
  return '#/browse?' + query;
};

export function mount(container, initial) {
  let selected = { l: null, p: null, k: null, at: null };
  let stopWatch = null;
  let treeTruncated = false;
  const timers = {};
  const tokens = { tree: 0, keys: 0, key: 0 };

  const layersEl = h('ul', { class: 'layers', id: 'layers' });
  const treeEl = h('div', { class: 'tree', id: 'tree' });
  const pathTitle = h('h2', { id: 'path-title' });
  const keysEl = h('div', { id: 'keys' });
  const keyEl = h('div', { id: 'key' });
  const liveState = h('span', { class: 'state', id: 'live-state' });
  const liveList = h('ol', { class: 'live', id: 'live' });
  const gotoInput = h('input', { id: 'goto-path', placeholder: 'path, e.g. sensors/room1', spellcheck: 'false' });
  const gotoForm = h('form', {
    class: 'goto', onsubmit: e => {
      e.preventDefault();
      const p = gotoInput.value.trim().replace(/^\/+|\/+$/g, '');
      location.hash = link({ l: selected.l, p, at: selected.at });
    },
  }, gotoInput, h('button', { type: 'submit', text: 'Open' }));
  const atInput = h('input', { id: 'at-input', placeholder: 'now, or 2026-12-01T09:30:00Z', spellcheck: 'false', title: 'unix ms or ISO 8601' });
  const atForm = h('form', {
    class: 'goto', id: 'at-form', onsubmit: e => {
      e.preventDefault();
      const at = atInput.value.trim();
      location.hash = link({ ...selected, at: at === '' || at === 'now' ? null : at });
    },
  }, h('label', { for: 'at-input', text: 'As of ' }), atInput, h('button', { type: 'submit', text: 'Show' }));

  container.append(h('div', { class: 'browse' },
    h('aside', { class: 'sidebar' },
      h('h2', { text: 'Layers' }), layersEl,
      h('h2', { text: 'Paths' }), treeEl),
    h('div', { class: 'content' },
      h('div', { class: 'path-bar' }, pathTitle, gotoForm, atForm),
      h('div', { class: 'columns' },
        h('section', { class: 'panel keys-panel' }, h('h3', { text: 'Keys' }), keysEl),
        h('section', { class: 'panel key-panel' }, keyEl)),
      h('section', { class: 'panel live-panel' },
        h('h3', {}, 'Live changes ', liveState), liveList))));

  const later = (name, fn) => {
    clearTimeout(timers[name]);
    timers[name] = setTimeout(fn, 250);
  };

  async function loadLayers(l) {
    let counts = {};
    try {
      counts = (await call('GET', 'ds')).v;
    } catch (e) {
      fill(layersEl, h('li', { class: 'error', text: message(e) }));
      return;
    }
    const names = [...new Set(['data', ...Object.keys(counts)])].sort();
    fill(layersEl, names.map(name => h('li', {},
      h('a', { href: link({ l: name }), class: name === l ? 'active' : null, dataset: { layer: name } },
        name, h('span', { class: 'count', text: counts[name] ?? 0 })))));
  }

  async function loadTree(l, p) {
    const token = ++tokens.tree;
    fill(treeEl, h('p', { class: 'muted', text: 'Loading…' }));
    let listing;
    try {
      listing = await listAll('ds', '', { l }, MAX_PATHS);
    } catch (e) {
      if (token === tokens.tree) fill(treeEl, h('p', { class: 'error', text: message(e) }));
      return;
    }
    if (token !== tokens.tree) return;
    treeTruncated = listing.truncated;
    const root = { children: new Map() };
    for (const path of listing.items) {
      if (path === '') continue; // entries at the root: the (root) link
      let node = root;
      let full = '';
      for (const segment of path.split('/')) {
        full = full ? `${full}/${segment}` : segment;
        if (!node.children.has(segment)) node.children.set(segment, { full, children: new Map(), entries: false });
        node = node.children.get(segment);
      }
      node.entries = true;
    }
    const render = node => h('ul', {}, [...node.children.entries()].map(([segment, child]) => h('li', {},
      h('a', {
        href: link({ l, p: child.full }),
        class: [child.entries ? 'entries' : 'prefix', child.full === p ? 'active' : ''].join(' ').trim(),
        dataset: { path: child.full },
        title: child.full,
      }, segment),
      child.children.size > 0 ? render(child) : null)));
    fill(treeEl,
      h('a', { href: link({ l, p: '' }), class: p === '' ? 'root active' : 'root', dataset: { path: '' }, text: '(root)' }),
      listing.items.length === 0 ? h('p', { class: 'muted', text: `Nothing stored in layer ${l}.` }) : render(root),
      listing.truncated ? h('p', { class: 'muted', text: `The first ${listing.items.length} paths.` }) : null);
  }

  function markTree(p) {
    for (const a of treeEl.querySelectorAll('a[data-path]')) a.classList.toggle('active', a.dataset.path === p);
  }

  async function loadKeys(l, p, k, at) {
    const token = ++tokens.keys;
    const caps = LAYERS[l];
    if (!caps?.keys) {
      fill(keysEl, h('p', { class: 'muted', text: `Entries of layer ${l} are read through their own service; the tree shows their paths.` }));
      return;
    }
    let listing;
    try {
      listing = await listAll(l, p, at ? { at } : {}, MAX_KEYS);
    } catch (e) {
      if (token === tokens.keys) fill(keysEl, h('p', { class: 'error', text: message(e) }));
      return;
    }
    if (token !== tokens.keys) return;
    if (listing.items.length === 0) {
      fill(keysEl, h('p', { class: 'muted', text: at ? `No keys at this path as of ${at}.` : 'No keys at this path.' }));
      return;
    }
    fill(keysEl,
      h('ul', { class: 'keys' }, listing.items.map(key => h('li', {},
        h('a', { href: link({ l, p, k: key, at }), class: key === k ? 'active' : null, dataset: { key } }, key)))),
      listing.truncated ? h('p', { class: 'muted', text: `The first ${listing.items.length} keys.` }) : null);
  }

  function markKeys(k) {
    for (const a of keysEl.querySelectorAll('a[data-key]')) a.classList.toggle('active', a.dataset.key === k);
  }

  async function loadKey(l, p, k, at) {
    const token = ++tokens.key;
    const caps = LAYERS[l] ?? {};
    if (!k) {
      fill(keyEl, h('p', { class: 'muted', text: caps.keys ? 'Choose a key.' : '' }));
      return;
    }
    if (!caps.values) {
      fill(keyEl, h('h3', { text: k }), h('p', { class: 'muted', text: `Layer ${l} lists its keys only.` }));
      return;
    }
    const [current, history] = await Promise.all([
      call('GET', l, p, at ? { k, at } : { k }).then(r => ({ value: r.v }), e => ({ error: e })),
      caps.history
        ? call('GET', l, p, { k, time_series: 1, format: 'full', limit: HISTORY_PAGE }).then(r => ({ versions: r.v, more: Boolean(r.next) }), e => ({ error: e }))
        : Promise.resolve(null),
    ]);
    if (token !== tokens.key) return;

    const parts = [h('h3', { id: 'key-title', text: k })];
    if (current.error instanceof ApiError && current.error.code === 'not_found') {
      parts.push(h('p', { class: 'muted', id: 'key-value', dataset: { state: 'absent' },
        text: at ? `No value as of ${at} (deleted, or not yet written).` : 'No current value (deleted, or never written).' }));
    } else if (current.error) {
      parts.push(h('p', { class: 'error', text: message(current.error) }));
    } else {
      const version = current.value && typeof current.value === 'object' ? current.value._ver_ : undefined;
      parts.push(
        h('p', { class: 'muted', id: 'key-value-label' }, at ? `Value as of ${at}` : 'Current value', version ? ` · version ${version}` : ''),
        h('pre', { class: 'value', id: 'key-value', dataset: { state: 'present' }, text: JSON.stringify(withoutVersion(current.value), null, 2) }));
    }
    if (history?.error) parts.push(h('p', { class: 'error', text: message(history.error) }));
    else if (history) parts.push(...renderHistory(history.versions, history.more, { l, p, k, at }));
    fill(keyEl, parts);
  }

  // Each version's time opens the path as of that instant; with an instant, the version that held then is marked.
  function renderHistory(versions, more, place) {
    const atMs = place.at ? instantMs(place.at) : null;
    const then = atMs === null ? null : versions.find(version => instantMs(version.t) <= atMs);
    const oldestFirst = [...versions].reverse();
    const fields = new Map();
    for (const version of oldestFirst) {
      if (version.op !== 'put') continue;
      for (const [name, value] of numericFields(version.v)) {
        if (!fields.has(name)) fields.set(name, []);
        fields.get(name).push([version.t, value]);
      }
    }
    const series = [...fields.entries()]
      .sort((a, b) => b[1].length - a[1].length)
      .slice(0, MAX_CHART_FIELDS)
      .map(([name, points]) => ({ name, points }));
    const chart = series.length > 0
      ? lineChart(series, { title: 'Numeric fields over time' })
      : h('p', { class: 'muted', text: 'No numeric fields to chart.' });
    chart.id = 'key-chart';
    const table = h('table', { class: 'history', id: 'key-history' },
      h('thead', {}, h('tr', {}, ['time', 'by', 'op', 'value', '_ver_'].map(c => h('th', { text: c })))),
      h('tbody', {}, versions.map(version => h('tr', { dataset: { ver: version._ver_ }, class: version === then ? 'at' : null },
        h('td', { class: 'nowrap' }, h('a', { href: link({ ...place, at: String(version.t) }), title: 'as of this version', text: dateTime(version.t) })),
        h('td', { text: version.by }),
        h('td', { text: version.op }),
        h('td', { class: 'json', text: version.op === 'delete' ? '—' : compact(version.v) }),
        h('td', { class: 'muted', text: version._ver_ })))));
    return [
      chart,
      h('h4', {}, `History (${versions.length}${more ? ' newest' : ''} versions)`),
      table,
    ];
  }

  function startWatch(l, p) {
    stopWatch?.();
    stopWatch = null;
    liveList.replaceChildren();
    if (!LAYERS[l]?.watch) {
      liveState.dataset.state = 'off';
      liveState.textContent = `(layer ${l} cannot be watched)`;
      return;
    }
    stopWatch = watch(l, p, {
      onState: (state, detail) => {
        liveState.dataset.state = state;
        liveState.textContent = state === 'reconnecting' ? `reconnecting in ${Math.round(detail / 1000)} s`
          : state === 'ended' ? `ended: ${detail}` : state;
      },
      onChange: change => {
        const row = h('li', { dataset: { path: change.path, key: change.k, op: change.op } },
          h('span', { class: 'time', text: timeOfDay(change.t) }),
          h('span', { class: `op op-${change.op}`, text: change.op }),
          h('a', { href: link({ l, p: change.path, k: change.k || undefined, at: selected.at }), class: 'where', text: `${change.path || '(root)'} · ${change.k}` }),
          h('span', { class: 'json', text: change.op === 'put' ? compact(change.v, 120) : '' }),
          h('span', { class: 'by', text: change.by }));
        liveList.prepend(row);
        while (liveList.children.length > MAX_LIVE_ROWS) liveList.lastElementChild.remove();
        const { l: sl, p: sp, k: sk, at: sat } = selected;
        const known = treeEl.querySelector(`a[data-path="${CSS.escape(change.path)}"]`);
        if (!known && !treeTruncated) {
          // A path new to the tree (and maybe a layer's count): both are read again.
          later('tree', () => {
            loadLayers(sl);
            loadTree(sl, selected.p);
          });
        }
        if (change.path === sp) {
          later('keys', () => loadKeys(sl, sp, selected.k, sat));
          if (change.k === sk) later('key', () => loadKey(sl, sp, sk, sat));
        }
      },
    });
  }

  function update(params) {
    const l = params.get('l') || 'data';
    const p = params.get('p') ?? '';
    const k = params.get('k') || null;
    const at = params.get('at') || null;
    const layerChanged = l !== selected.l;
    const atChanged = at !== selected.at;
    const pathChanged = layerChanged || p !== selected.p;
    const keyChanged = pathChanged || atChanged || k !== selected.k;
    selected = { l, p, k, at };
    pathTitle.textContent = `${l} / ${p || '(root)'}${at ? ` as of ${at}` : ''}`;
    gotoInput.value = p;
    atInput.value = at ?? '';
    if (layerChanged) {
      loadLayers(l);
      loadTree(l, p);
    } else if (pathChanged) {
      markTree(p);
    }
    if (pathChanged) startWatch(l, p);
    if (pathChanged || atChanged) loadKeys(l, p, k, at);
    else if (keyChanged) markKeys(k);
    if (keyChanged) loadKey(l, p, k, at);
  }

  update(initial);
  return {
    update,
    unmount() {
      stopWatch?.();
      for (const timer of Object.values(timers)) clearTimeout(timer);
    },
  };
}

// An instant as the API takes it (unix ms or ISO 8601) in milliseconds; NaN when it is neither.
function instantMs(value) {
  return /^\d+$/.test(String(value)) ? Number(value) : Date.parse(value);
}

function message(e) {
  return e instanceof ApiError ? `Refused: ${e.code}` : 'The server cannot be reached.';
}
