// Login page (auth on): Username, Password, Sign in. A wrong password is said plainly; a 429 lockout says when
// to try again. The token pair goes to the in-memory session only.

import { api, session } from './api.js';
import { byId, setMessage } from './dom.js';
import { retryAt } from './session.js';

export class LoginView {
  constructor() {
    this.section = byId('login');
    this.form = byId('login-form');
    this.username = byId('login-username');
    this.password = byId('login-password');
    this.button = byId('login-button');
    this.error = byId('login-error');
    this.waiting = null;
    this.form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.#signIn();
    });
    for (const input of [this.username, this.password]) input.addEventListener('input', () => setMessage(this.error, ''));
  }

  /** Show the page until someone signs in; resolves to their /auth/me. */
  ask(message = '') {
    this.section.hidden = false;
    setMessage(this.error, message);
    this.password.value = '';
    (this.username.value ? this.password : this.username).focus();
    return new Promise((resolve) => {
      this.waiting = resolve;
    });
  }

  async #signIn() {
    const username = this.username.value.trim();
    const password = this.password.value;
    if (!username || !password) {
      setMessage(this.error, 'Enter your user name and password.');
      return;
    }
    this.button.disabled = true;
    try {
      session.start(await api.login(username, password));
      const me = await api.me();
      this.section.hidden = true;
      setMessage(this.error, '');
      this.password.value = '';
      this.waiting?.(me);
    } catch (error) {
      session.end();
      setMessage(this.error, explainLogin(error.problem ?? { detail: String(error) }));
      this.password.select();
    } finally {
      this.button.disabled = false;
    }
  }
}

/** Words for a refused login: wrong password, lockout (with the time to retry), or the server's own. */
export function explainLogin(problem, now = Date.now()) {
  if (problem.status === 401) return 'Wrong user name or password.';
  if (problem.status === 429) {
    const at = retryAt(problem, now);
    const when = at ? ` Try again at ${at.toLocaleTimeString()} (in ${Math.ceil((at - now) / 1000)} s).` : '';
    return `Too many failed sign-ins: locked for now.${when}`;
  }
  if (problem.status === 404) return 'This server does not take passwords (it uses API keys only).';
  return problem.detail || problem.title || 'Sign-in failed.';
}
