// Models: every installed model (GET /api/v1/models), filtered by type and searched by name, with type,
// architecture, hash and size; admins (models:write) load and unload checkpoints; anyone may rescan the folders.

import { api, request } from './api.js';
import { byId, h, setMessage } from './dom.js';

export function formatBytes(bytes) {
  if (bytes === null || bytes === undefined) return '—';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = Number(bytes);
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}

export class ModelsView {
  /** @param {{scopes: string[]}} me */
  constructor(me) {
    this.type = byId('models-type');
    this.search = byId('models-search');
    this.list = byId('models-list');
    this.count = byId('models-count');
    this.status = byId('models-status');
    this.canWrite = me.scopes.includes('models:write');
    this.type.addEventListener('change', () => this.load());
    let timer = null;
    this.search.addEventListener('input', () => {
      clearTimeout(timer);
      timer = setTimeout(() => this.load(), 200);
    });
    byId('models-refresh').addEventListener('click', () => this.#refresh());
  }

  async load() {
    const page = await api.models({ type: this.type.value || undefined, search: this.search.value.trim() || undefined });
    this.count.textContent = `${page.total} model${page.total === 1 ? '' : 's'}${page.total > page.items.length ? `, first ${page.items.length} shown` : ''}`;
    this.list.replaceChildren(...page.items.map((model) => this.#row(model)));
  }

  #row(model) {
    const actions = h('td', { class: 'actions' });
    if (this.canWrite && model.type === 'checkpoint' && model.status === 'valid') {
      for (const action of ['load', 'unload']) {
        const label = `${action === 'load' ? 'Load' : 'Unload'} ${model.name}`;
        actions.append(h('button', { type: 'button', 'aria-label': label, onclick: () => this.#operate(model, action) }, action === 'load' ? 'Load' : 'Unload'));
      }
    }
    return h(
      'tr',
      { dataset: { modelId: model.id } },
      h('td', {}, model.name, model.status === 'valid' ? null : h('small', { class: 'error' }, ` ${model.reason ?? 'invalid'}`)),
      h('td', {}, model.type),
      h('td', {}, h('span', { class: 'badge' }, model.arch), model.inpaint ? h('span', { class: 'badge' }, 'inpaint') : null),
      h('td', {}, formatBytes(model.size_bytes)),
      h('td', {}, h('code', {}, model.short_hash ?? '—')),
      actions,
    );
  }

  async #operate(model, action) {
    setMessage(this.status, `${action} ${model.name}: asked`);
    try {
      let operation = await api.modelOperation(model.id, action);
      for (let i = 0; i < 120 && ['queued', 'started'].includes(operation.status); i += 1) {
        await new Promise((resolve) => setTimeout(resolve, 500));
        operation = await request(operation.links.self);
      }
      const outcome = operation.status === 'failed' ? `failed: ${operation.error}` : operation.status;
      setMessage(this.status, `${action} ${model.name}: ${outcome}`);
    } catch (error) {
      setMessage(this.status, error.message);
    }
  }

  async #refresh() {
    try {
      const answer = await api.refreshModels();
      setMessage(this.status, `Rescanned: ${answer.count} models`);
      await this.load();
    } catch (error) {
      setMessage(this.status, error.message);
    }
  }
}
