// System: version, auth modes, queue counts, disk use, and each worker with its device, current job and models.

import { api } from './api.js';
import { byId, h } from './dom.js';
import { formatBytes } from './models.js';

export class SystemView {
  constructor() {
    this.summary = byId('system-summary');
    this.workers = byId('system-workers');
    byId('system-reload').addEventListener('click', () => this.load());
  }

  async load() {
    const system = await api.system();
    const counts = Object.entries(system.queue ?? {}).map(([status, n]) => `${status} ${n}`).join(', ');
    const storage = system.storage ?? {};
    const facts = [
      ['Version', system.version],
      ['Authentication', (system.auth ?? []).join(', ') || 'none'],
      ['Jobs', counts || 'none'],
      ['Disk (outputs)', `${formatBytes(storage.bytes)} in ${storage.folders ?? '—'} folders`],
      ['Workers alive', String(system.workers?.length ?? 0)],
    ];
    this.summary.replaceChildren(...facts.flatMap(([term, value]) => [h('dt', {}, term), h('dd', {}, value ?? '—')]));
    this.workers.replaceChildren(
      ...(system.workers ?? []).map((worker) =>
        h(
          'tr',
          {},
          h('td', {}, worker.name),
          h('td', {}, worker.device ?? '—', worker.policy?.dtype ? ` · ${worker.policy.dtype}` : ''),
          h('td', {}, worker.current_job ?? 'idle'),
          h('td', {}, (worker.models_loaded ?? []).join(', ') || 'none'),
        ),
      ),
    );
  }
}
