// Users (admins): add a local user, list everyone, disable/enable, make or unmake administrator.

import { api } from './api.js';
import { byId, h, setMessage } from './dom.js';
import { fieldErrors } from './problems.js';

export class UsersView {
  constructor() {
    this.section = byId('users');
    this.form = byId('user-form');
    this.list = byId('user-list');
    this.section.hidden = false;
    this.form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.create();
    });
  }

  async load() {
    const users = await api.users();
    this.list.replaceChildren(...users.map((user) => this.#row(user)));
  }

  #row(user) {
    const admin = user.roles.includes('admin');
    const act = (label, run) =>
      h('button', { type: 'button', 'aria-label': `${label} ${user.name}`, onclick: () => this.#run(run) }, label);
    return h(
      'tr',
      { dataset: { user: user.name } },
      h('td', {}, user.name),
      h('td', {}, user.roles.join(', ')),
      h('td', {}, user.disabled ? 'disabled' : 'active'),
      h(
        'td',
        { class: 'actions' },
        user.disabled
          ? act('Enable', () => api.setUserDisabled(user.name, false))
          : act('Disable', () => api.setUserDisabled(user.name, true)),
        admin
          ? act('Make user', () => api.setUserRoles(user.name, ['user']))
          : act('Make admin', () => api.setUserRoles(user.name, ['admin'])),
      ),
    );
  }

  async #run(change) {
    setMessage(byId('e-user-form'), '');
    try {
      await change();
    } catch (error) {
      setMessage(byId('e-user-form'), error.message);
    }
    await this.load();
  }

  async create() {
    const body = {
      name: byId('user-name').value.trim(),
      password: byId('user-password').value,
      roles: [byId('user-admin').checked ? 'admin' : 'user'],
    };
    for (const id of ['e-user-name', 'e-user-password', 'e-user-form']) setMessage(byId(id), '');
    try {
      await api.createUser(body);
      this.form.reset();
      await this.load();
    } catch (error) {
      if (!error.problem) throw error;
      const { fields, general } = fieldErrors(error.problem, ['name', 'password', 'roles']);
      if (fields.name) setMessage(byId('e-user-name'), fields.name.join('; '));
      if (fields.password) setMessage(byId('e-user-password'), fields.password.join('; '));
      setMessage(byId('e-user-form'), [...general, ...(fields.roles ?? [])].join('\n'));
    }
  }
}
