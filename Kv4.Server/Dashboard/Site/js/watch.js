// The watch stream of a layer under a path, read as Server-Sent Events through fetch. An EventSource cannot send
// an Authorization header, and the API takes `?access_token=` only on WebSocket upgrades, so the stream is read
// from the response body here. After a dropped connection it resumes from the last cursor (`since`), so no
// change is lost or shown twice; a refusal (`forbidden`, `bad_param`, a session that cannot be renewed) ends it.

import { apiUrl, authorization, readEnvelope, renewAfterRefusal } from './api.js';

/** A single event block larger than this ends the stream (a change is at most about 1 MiB of value). */
const MAX_EVENT_CHARS = 4 * 1024 * 1024;

/**
 * Starts watching; returns stop(). onChange(change) gets each change object; onState(state, detail) gets
 * 'connecting', 'live', 'reconnecting' (detail: ms until the next try) and 'ended' (detail: the error code).
 */
export function watch(service, path, { onChange, onState }) {
  let stopped = false;
  let controller = null;
  let cursor = null;
  let retryMs = 1000;
  let wake = null;

  const run = async () => {
    while (!stopped) {
      controller = new AbortController();
      onState('connecting');
      let outcome;
      try {
        outcome = await stream(controller.signal);
      } catch (e) {
        if (stopped) return;
        // No credentials any more (logged out, session not renewable) ends it; a network failure is retried.
        outcome = e?.code ? { retry: false, code: e.code } : { retry: true };
      }
      if (stopped) return;
      if (outcome.code === 'unauthorized' && outcome.sentWith && (await renewAfterRefusal(outcome.sentWith))) continue;
      if (!outcome.retry) {
        onState('ended', outcome.code);
        return;
      }
      onState('reconnecting', retryMs);
      await new Promise(resolve => {
        const timer = setTimeout(resolve, retryMs);
        wake = () => { clearTimeout(timer); resolve(); };
      });
      wake = null;
      retryMs = Math.min(retryMs * 2, 30_000);
    }
  };

  const stream = async signal => {
    const query = { watch: 1, since: cursor ?? undefined };
    const sentWith = await authorization();
    const res = await fetch(apiUrl(service, path, query), {
      headers: { Authorization: sentWith, Accept: 'text/event-stream' },
      credentials: 'omit',
      cache: 'no-store',
      signal,
    });
    if (!res.ok || !(res.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
      const envelope = await readEnvelope(res);
      return { retry: res.status >= 500, code: envelope.v, sentWith };
    }
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return { retry: true };
      buffer += value.replaceAll('\r\n', '\n');
      let end;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const ended = handle(block);
        if (ended) {
          reader.cancel().catch(() => {});
          return { ...ended, sentWith };
        }
      }
      if (buffer.length > MAX_EVENT_CHARS) {
        reader.cancel().catch(() => {});
        return { retry: false, code: 'event_too_large' };
      }
    }
  };

  // One event block; returns an outcome when the server ended the stream with an error event.
  const handle = block => {
    let event = 'message';
    let id = null;
    const data = [];
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) {
        // The first comment (": watching <layer>/<path>") comes once the feed's start is pinned.
        if (line.startsWith(': watching')) {
          retryMs = 1000;
          onState('live');
        }
        continue;
      }
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'event') event = value;
      else if (field === 'id') id = value;
      else if (field === 'data') data.push(value);
    }
    if (data.length === 0) return null;
    let payload;
    try {
      payload = JSON.parse(data.join('\n'));
    } catch {
      return null;
    }
    if (event === 'error') return { retry: false, code: payload?.v ?? 'unavailable' };
    cursor = id ?? payload.seq ?? cursor;
    onChange(payload);
    return null;
  };

  run().catch(e => onState('ended', String(e?.message ?? e)));
  return () => {
    stopped = true;
    controller?.abort();
    wake?.();
  };
}
