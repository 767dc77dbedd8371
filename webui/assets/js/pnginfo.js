// PNG info: drop (or pick) a PNG, show its A1111 "parameters" text, and load them into the form.

import { byId, setMessage } from './dom.js';
import { parseInfotext } from './infotext.js';
import { readPngText } from './pngtext.js';

export class PngInfoView {
  /** @param {{samplerLabels: Record<string, string>, onLoad: (values: object) => void}} options */
  constructor({ samplerLabels, onLoad }) {
    this.drop = byId('pnginfo-drop');
    this.file = byId('pnginfo-file');
    this.text = byId('pnginfo-text');
    this.error = byId('pnginfo-error');
    this.load = byId('pnginfo-load');
    this.samplerLabels = samplerLabels;
    this.file.addEventListener('change', () => this.file.files[0] && this.read(this.file.files[0]));
    this.drop.addEventListener('dragover', (event) => event.preventDefault());
    this.drop.addEventListener('drop', (event) => {
      event.preventDefault();
      const file = event.dataTransfer?.files?.[0];
      if (file) this.read(file);
    });
    this.load.addEventListener('click', () => onLoad(this.values));
  }

  async read(file) {
    setMessage(this.error, '');
    this.text.hidden = true;
    this.load.hidden = true;
    try {
      const chunks = await readPngText(await file.arrayBuffer());
      const parameters = chunks.parameters;
      if (!parameters) throw new Error('this PNG carries no "parameters" text');
      this.values = parseInfotext(parameters, this.samplerLabels).values;
      this.text.textContent = parameters;
      this.text.hidden = false;
      this.load.hidden = false;
    } catch (error) {
      setMessage(this.error, error.message);
    }
  }
}
