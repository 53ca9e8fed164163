// DOM building from properties only. Text is always set as text (textContent, attribute values), never parsed as
// HTML: the page's Content-Security-Policy requires Trusted Types with no policy, so an HTML sink would throw.

const SVG_NS = 'http://www.w3.org/2000/svg';

/** An HTML element: h('a', { href: '#/x', class: 'c', text: 'label', onclick: f }, child, [children], 'text'). */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'class') el.className = value;
    else if (name === 'text') el.textContent = String(value);
    else if (name === 'dataset') Object.assign(el.dataset, value);
    else if (name.startsWith('on') && typeof value === 'function') el.addEventListener(name.slice(2), value);
    else if (typeof value === 'boolean' || name === 'value') el[name] = value;
    else el.setAttribute(name, String(value));
  }
  append(el, children);
  return el;
}

/** An SVG element; attributes are presentation attributes (no style attribute: CSP allows no inline style). */
export function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null) continue;
    if (name === 'text') el.textContent = String(value);
    else el.setAttribute(name, String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
}

/** Replaces the children of el. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** A link only for http(s) URLs: a value from the server must never become a javascript: link. */
export function safeHref(url) {
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'http:' || parsed.protocol === 'https:' ? parsed.href : null;
  } catch {
    return null;
  }
}
