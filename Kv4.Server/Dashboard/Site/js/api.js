// The API client: credentials, the `/_<service>/<path>` template, the envelope, and session refresh.
//
// Credentials never go into a cookie. An account logs in through `POST /_sess`; its access token is sent as
// `Authorization: Bearer` and renewed with the refresh token before it expires. The session (tokens, login name)
// is kept in this tab's sessionStorage so a reload does not log out, and is revoked on the server at logout.
// `$sys`, which has no password login, and an account that chooses to use its secret send Basic credentials;
// those are kept in memory only, so a reload asks for them again.
// Every fetch uses `credentials: 'omit'`: no cookie is sent, and a 401 never makes the browser offer its own
// login prompt.

const STORE_KEY = 'kv4.session';
const REFRESH_MARGIN_MS = 30_000;

/** The API root: the dashboard is served at `<root>/_dashboard/`, so a proxy's path prefix is kept. */
const ROOT = new URL('../', document.baseURI);

export class ApiError extends Error {
  constructor(code, status) {
    super(code);
    this.code = code;
    this.status = status;
  }
}

let state = restore();
let refreshing = null;
const listeners = new Set();

/** URL of `/_<service>/<path>?<query>`; each path segment is escaped on its own. */
export function apiUrl(service, path = '', query = {}) {
  const segments = path ? '/' + path.split('/').map(encodeURIComponent).join('/') : '';
  const url = new URL('_' + service + segments, ROOT);
  for (const [name, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== '') url.searchParams.set(name, String(value));
  }
  return url;
}

/** Who is logged in: { login, kind: 'session' | 'secret', isSys } or null. */
export function current() {
  return state ? { login: state.login, kind: state.kind === 'bearer' ? 'session' : 'secret', isSys: state.login === '$sys' } : null;
}

/** Called with current() whenever it changes (login, logout, a session that could not be renewed). */
export function onChange(listener) {
  listeners.add(listener);
}

/**
 * Logs in. An account's password opens a `_sess` session; `$sys` (always) and an account's secret (when asked)
 * are checked with one authenticated call and then kept in memory.
 */
export async function login(name, password, useSecret) {
  if (name === '$sys' || useSecret) {
    const candidate = { kind: 'basic', login: name, secret: password };
    const res = await send('GET', apiUrl('ds'), basicHeader(candidate));
    const envelope = await readEnvelope(res);
    if (envelope.s !== 'ok') throw new ApiError(envelope.v, res.status);
    set(candidate);
    return;
  }
  const res = await send('POST', apiUrl('sess'), null, { k: name, v: { password } });
  const envelope = await readEnvelope(res);
  if (envelope.s !== 'ok') throw new ApiError(envelope.v, res.status);
  adopt(name, envelope.v);
}

/** Logs out: a session is revoked on the server (its tokens stop working at once), then forgotten here. */
export async function logout() {
  const was = state;
  if (was?.kind === 'bearer') {
    try {
      await call('DELETE', 'sess', '', { k: was.sid });
    } catch {
      // Forgotten here either way; an unrevoked session still ends with its refresh token's lifetime.
    }
  }
  set(null);
}

/**
 * One API call: resolves to the envelope `{s:"ok", v, next?}`, rejects with ApiError(code, status).
 * An `unauthorized` answer to a session's call renews the session once and retries.
 */
export async function call(method, service, path = '', query = {}, body = undefined) {
  const url = apiUrl(service, path, query);
  for (let attempt = 0; ; attempt++) {
    const sentWith = await authorization();
    const res = await send(method, url, sentWith, body);
    const envelope = await readEnvelope(res);
    if (envelope.s === 'ok') return envelope;
    if (envelope.v === 'unauthorized' && attempt === 0 && (await renewAfterRefusal(sentWith))) continue;
    if (envelope.v === 'unauthorized') set(null);
    throw new ApiError(envelope.v, res.status);
  }
}

/** Every page of a listing (keys, paths), up to maxItems; `truncated` says whether more remained. */
export async function listAll(service, path, query, maxItems = 5000) {
  const items = [];
  let cursor;
  do {
    const page = await call('GET', service, path, { ...query, limit: 1000, cursor });
    items.push(...page.v);
    cursor = page.next;
  } while (cursor && items.length < maxItems);
  return { items, truncated: Boolean(cursor) };
}

/** The Authorization header for the current credentials, renewing a session's access token when it is about to expire. */
export async function authorization() {
  if (state?.kind === 'bearer' && state.expiresAt - Date.now() < REFRESH_MARGIN_MS) await refresh();
  if (!state) throw new ApiError('unauthorized', 401);
  return state.kind === 'bearer' ? 'Bearer ' + state.access : basicHeader(state);
}

/**
 * After the server refused `sentWith` as unauthorized: whether to try again. A session whose token another call
 * has renewed meanwhile tries again at once; otherwise the session is renewed here (once for all the calls that
 * were refused together). Basic credentials are not retried.
 */
export async function renewAfterRefusal(sentWith) {
  if (state?.kind !== 'bearer') return false;
  return 'Bearer ' + state.access !== sentWith || refresh();
}

/** Renews the session with its refresh token (one renewal at a time: a refresh token can be spent once). */
function refresh() {
  if (state?.kind !== 'bearer') return Promise.resolve(false);
  refreshing ??= (async () => {
    const login = state.login;
    try {
      const res = await send('POST', apiUrl('sess', 'refresh'), null, { refresh_token: state.refresh });
      const envelope = await readEnvelope(res);
      if (envelope.s !== 'ok') {
        set(null);
        return false;
      }
      adopt(login, envelope.v);
      return true;
    } catch {
      return false;
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

/** Reads a reply as the envelope; a reply that is not one (a proxy's error page) becomes `bad_reply`. */
export async function readEnvelope(res) {
  try {
    const envelope = await res.json();
    if (envelope && (envelope.s === 'ok' || envelope.s === 'error')) return envelope;
  } catch {
    // not JSON
  }
  return { s: 'error', v: res.status === 404 ? 'not_found' : 'bad_reply' };
}

function send(method, url, authorizationHeader, body) {
  const headers = {};
  if (authorizationHeader) headers.Authorization = authorizationHeader;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  return fetch(url, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'omit',
    cache: 'no-store',
  });
}

function adopt(login, granted) {
  set({
    kind: 'bearer',
    login,
    access: granted.access_token,
    refresh: granted.refresh_token,
    sid: granted.session,
    expiresAt: Date.now() + granted.expires_in * 1000,
  });
}

function set(next) {
  const changed = (state?.login ?? null) !== (next?.login ?? null) || (state === null) !== (next === null);
  state = next;
  if (next?.kind === 'bearer') sessionStorage.setItem(STORE_KEY, JSON.stringify(next));
  else sessionStorage.removeItem(STORE_KEY);
  if (changed) for (const listener of listeners) listener(current());
}

function restore() {
  try {
    const saved = JSON.parse(sessionStorage.getItem(STORE_KEY) ?? 'null');
    return saved?.kind === 'bearer' && typeof saved.access === 'string' ? saved : null;
  } catch {
    return null;
  }
}

function basicHeader(credentials) {
  const bytes = new TextEncoder().encode(credentials.login + ':' + credentials.secret);
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return 'Basic ' + btoa(binary);
}
