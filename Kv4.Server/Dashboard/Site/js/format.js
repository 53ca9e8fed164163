// Formatting of times and values for tables and charts.

const pad = (n, width = 2) => String(n).padStart(width, '0');

/** Local time, `YYYY-MM-DD HH:MM:SS`. */
export function dateTime(ms) {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** Local time of day, `HH:MM:SS`. */
export function timeOfDay(ms) {
  const d = new Date(ms);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** One line of JSON, cut at max characters. */
export function compact(value, max = 160) {
  const text = value === undefined ? '' : JSON.stringify(value);
  return text.length > max ? text.slice(0, max - 1) + '…' : text;
}

/** Numbers with at most 4 significant decimals and thousands kept readable. */
export function number(n) {
  if (!Number.isFinite(n)) return String(n);
  const abs = Math.abs(n);
  if (abs !== 0 && (abs >= 1e9 || abs < 1e-3)) return n.toExponential(2);
  return Number.isInteger(n) ? String(n) : String(Number(n.toFixed(4)));
}

/**
 * The numeric fields of a stored value as [name, number] pairs: a number itself is "value"; an object's number
 * members are their dotted paths ("a.b"), down to depth 4. Arrays, strings and booleans are not drawn.
 */
export function numericFields(value, prefix = '', depth = 0, out = []) {
  if (typeof value === 'number' && Number.isFinite(value)) out.push([prefix || 'value', value]);
  else if (value && typeof value === 'object' && !Array.isArray(value) && depth < 4) {
    for (const [name, member] of Object.entries(value)) {
      if (name === '_ver_') continue;
      numericFields(member, prefix ? `${prefix}.${name}` : name, depth + 1, out);
    }
  }
  return out;
}

/** A stored object as shown: without the `_ver_` the API splices into it. */
export function withoutVersion(value) {
  if (!value || typeof value !== 'object' || Array.isArray(value) || !('_ver_' in value)) return value;
  const { _ver_: _, ...rest } = value;
  return rest;
}
