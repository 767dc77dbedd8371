// The top bar's views (Images, Models, System, Queue for admins, Account when signed in), each loaded when shown,
// and the page-wide shortcuts: "?" lists them, Esc cancels my newest running job.

import { byId } from './dom.js';

export class Nav {
  /** @param {Record<string, {load: () => Promise<void>}>} views  by the id of their <main> */
  constructor(views) {
    this.nav = byId('nav');
    this.views = views;
    this.nav.hidden = false;
    this.nav.addEventListener('click', (event) => {
      const view = event.target.closest('button[data-view]')?.dataset.view;
      if (view) this.show(view);
    });
  }

  /** Show a view's button (Queue, Account). */
  offer(id) {
    this.nav.querySelector(`[data-view="${id}"]`).hidden = false;
  }

  show(id) {
    for (const button of this.nav.querySelectorAll('button[data-view]')) {
      const current = button.dataset.view === id;
      if (current) button.setAttribute('aria-current', 'page');
      else button.removeAttribute('aria-current');
      byId(button.dataset.view).hidden = !current;
    }
    return this.views[id]?.load();
  }
}

/** "?" (outside text fields) opens the shortcuts; Esc (no dialog open) calls onEscape. */
export function setupShortcuts({ onEscape }) {
  const dialog = byId('shortcuts');
  const open = () => dialog.showModal();
  byId('shortcuts-open').addEventListener('click', open);
  byId('shortcuts-close').addEventListener('click', () => dialog.close());
  document.addEventListener('keydown', (event) => {
    const typing = event.target.closest?.('textarea, select, input:not([type=checkbox]):not([type=range]):not([type=file])');
    if (event.key === '?' && !typing && !document.querySelector('dialog[open]')) {
      event.preventDefault();
      open();
    } else if (event.key === 'Escape' && !document.querySelector('dialog[open]')) {
      onEscape();
    }
  });
}
