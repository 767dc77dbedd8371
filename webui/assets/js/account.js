// My API keys: create (name, scopes, expiry; the secret shown once), list, revoke.

import { api } from './api.js';
import { byId, h, setMessage } from './dom.js';
import { fieldErrors } from './problems.js';

const when = (epoch) => (epoch ? new Date(epoch * 1000).toLocaleDateString() : 'never');

export class KeysView {
  /** @param {{scopes: string[]}} me  the signed-in principal; its scopes are the ones a key may get */
  constructor(me) {
    this.form = byId('key-form');
    this.list = byId('key-list');
    this.created = byId('key-created');
    this.secret = byId('key-secret');
    this.scopes = byId('key-scopes');
    for (const scope of me.scopes) {
      this.scopes.append(h('label', { class: 'check' }, h('input', { type: 'checkbox', value: scope }), ` ${scope}`));
    }
    this.form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.create();
    });
    byId('key-copy').addEventListener('click', () => navigator.clipboard?.writeText(this.secret.textContent));
  }

  async load() {
    const keys = await api.keys();
    this.list.replaceChildren(...keys.map((key) => this.#row(key)));
  }

  #row(key) {
    const revoke = h('button', { type: 'button', 'aria-label': `Revoke ${key.name}`, onclick: () => this.revoke(key) }, 'Revoke');
    return h(
      'tr',
      { dataset: { keyId: key.id } },
      h('td', {}, key.name, h('br'), h('small', { class: 'hint' }, key.id)),
      h('td', {}, key.scopes.join(', ')),
      h('td', {}, when(key.created_at)),
      h('td', {}, when(key.expires_at)),
      h('td', {}, revoke),
    );
  }

  async create() {
    const name = byId('key-name').value.trim();
    const days = byId('key-days').value.trim();
    const scopes = [...this.scopes.querySelectorAll('input:checked')].map((input) => input.value);
    const body = { name, scopes: scopes.length ? scopes : null, expires_in_days: days ? Number(days) : null };
    for (const id of ['e-key-name', 'e-key-days', 'e-key-form']) setMessage(byId(id), '');
    try {
      const created = await api.createKey(body);
      this.secret.textContent = created.key;
      this.created.hidden = false;
      this.form.reset();
      await this.load();
    } catch (error) {
      if (!error.problem) throw error;
      const { fields, general } = fieldErrors(error.problem, ['name', 'expires_in_days', 'scopes']);
      if (fields.name) setMessage(byId('e-key-name'), fields.name.join('; '));
      if (fields.expires_in_days) setMessage(byId('e-key-days'), fields.expires_in_days.join('; '));
      setMessage(byId('e-key-form'), [...general, ...(fields.scopes ?? [])].join('\n'));
    }
  }

  async revoke(key) {
    try {
      await api.revokeKey(key.id);
      this.created.hidden = true;
    } catch (error) {
      setMessage(byId('e-key-form'), error.message);
    }
    await this.load();
  }
}
