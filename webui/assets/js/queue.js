// Queue (admins: everyone's): queued jobs in the order they will run, with owner and priority; Clear cancels them.

import { api } from './api.js';
import { byId, h, setMessage } from './dom.js';

export class QueueView {
  constructor() {
    this.list = byId('queue-list');
    this.counts = byId('queue-counts');
    this.status = byId('queue-status');
    byId('queue-reload').addEventListener('click', () => this.load());
    byId('queue-clear').addEventListener('click', () => this.clear());
  }

  async load() {
    const queue = await api.queue();
    this.counts.textContent = Object.entries(queue.counts).map(([status, n]) => `${status} ${n}`).join(' · ');
    this.list.replaceChildren(
      ...queue.jobs.map((job) =>
        h(
          'tr',
          { dataset: { jobId: job.id } },
          h('td', {}, String(job.position)),
          h('td', {}, job.owner),
          h('td', {}, job.mode),
          h('td', {}, job.model),
          h('td', {}, job.priority),
          h('td', {}, job.submitted_at ? new Date(job.submitted_at).toLocaleTimeString() : '—'),
        ),
      ),
    );
  }

  async clear() {
    try {
      const answer = await api.clearQueue();
      setMessage(this.status, `Canceled ${answer.canceled ?? 0} queued job(s)`);
    } catch (error) {
      setMessage(this.status, error.message);
    }
    await this.load();
  }
}
