// The login page: an account's password opens a `_sess` session; `$sys` and an account's secret are kept in memory.

import { ApiError, login } from '../api.js';
import { h } from '../dom.js';

const MESSAGES = {
  unauthorized: 'Wrong login or password.',
  rate_limited: 'Too many failed logins: wait a little, then try again.',
  bad_param: 'Give a login and a password.',
};

export function mount(container) {
  const name = h('input', { id: 'login-name', name: 'username', autocomplete: 'username', required: true, spellcheck: 'false' });
  const password = h('input', { id: 'login-password', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const useSecret = h('input', { id: 'login-secret', type: 'checkbox' });
  const error = h('p', { id: 'login-error', class: 'error', role: 'alert', hidden: true });
  const submit = h('button', { id: 'login-submit', type: 'submit', text: 'Log in' });

  const onSubmit = async event => {
    event.preventDefault();
    error.hidden = true;
    submit.disabled = true;
    try {
      await login(name.value.trim(), password.value, useSecret.checked);
      // The router takes over from the login event.
    } catch (e) {
      const code = e instanceof ApiError ? e.code : 'network';
      error.dataset.code = code;
      error.textContent = MESSAGES[code] ?? (code === 'network' ? 'The server cannot be reached.' : `Refused: ${code}`);
      error.hidden = false;
      password.select();
    } finally {
      submit.disabled = false;
    }
  };

  container.append(h('section', { class: 'login-page' },
    h('form', { class: 'panel login', id: 'login-form', method: 'post', onsubmit: onSubmit },
      h('h1', { text: 'Log in' }),
      h('label', { for: 'login-name', text: 'Login' }),
      name,
      h('p', { class: 'hint', text: 'An account (elena), a sub-account (elena#lily), an admin (elena:boss), or $sys.' }),
      h('label', { for: 'login-password', text: 'Password' }),
      password,
      h('label', { class: 'check' }, useSecret, ' This is the account’s secret, not a password'),
      h('p', { class: 'hint', text: 'A password opens a session (a bearer token kept in this tab until you log out). '
        + '$sys logs in with the system secret; a secret is kept in this page’s memory only.' }),
      error,
      submit)));
  name.focus();
  return {};
}
