// Lightbox: one image at full size with its parameters (infotext), download, copy seed, and "reuse these
// parameters" (fills the form).

import { byId } from './dom.js';
import { infotext } from './infotext.js';

export class LightboxView {
  /** @param {{samplerLabels: Record<string, string>, onReuse: (request: object, seed: number) => void}} options */
  constructor({ samplerLabels, onReuse }) {
    this.dialog = byId('lightbox');
    this.title = byId('lightbox-title');
    this.image = byId('lightbox-image');
    this.text = byId('lightbox-infotext');
    this.download = byId('lightbox-download');
    this.reuse = byId('lightbox-reuse');
    this.status = byId('lightbox-status');
    this.samplerLabels = samplerLabels;
    this.onReuse = onReuse;
    byId('lightbox-close').addEventListener('click', () => this.dialog.close());
    byId('lightbox-copy-seed').addEventListener('click', () => this.#copySeed());
    this.reuse.addEventListener('click', () => {
      this.dialog.close();
      this.onReuse(this.job.request ?? {}, this.seed);
    });
    // A click on the backdrop (the dialog itself, outside its body) closes it.
    this.dialog.addEventListener('click', (event) => {
      if (event.target === this.dialog) this.dialog.close();
    });
  }

  open(job, index) {
    const image = job.images.find((i) => i.index === index) ?? job.images[0];
    this.job = job;
    this.seed = image.seed;
    const count = job.images.length;
    this.title.textContent = count > 1 ? `Image ${image.index + 1} of ${count} · seed ${image.seed}` : `Seed ${image.seed}`;
    this.image.src = image.url;
    this.image.alt = job.request?.prompt ?? '';
    this.image.width = image.width;
    this.image.height = image.height;
    this.text.textContent = infotext(job, image.index, this.samplerLabels);
    this.download.href = image.url;
    this.download.download = `${job.id}-${image.index}.png`;
    this.status.textContent = '';
    this.reuse.hidden = job.mode === 'upscale'; // no prompt, nothing the txt2img form could take
    if (!this.dialog.open) this.dialog.showModal();
  }

  async #copySeed() {
    const text = String(this.seed);
    try {
      await navigator.clipboard.writeText(text);
      this.status.textContent = `Seed ${text} copied`;
    } catch {
      this.status.textContent = `Seed: ${text} (copy it by hand)`;
    }
  }
}
