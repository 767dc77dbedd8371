// The generate form's choices: the checkpoints that fit the mode (with architecture badges), size presets of the
// chosen model's architecture with an aspect lock, the LoRA picker (adds <lora:name:weight> to the prompt), and
// the VAE and upscaler lists.

import { api } from './api.js';
import { byId, h } from './dom.js';
import { enumOf } from './form.js';
import { addLoraTag, lockedSide, presetsFor } from './sizes.js';

const BUILTIN_UPSCALERS = ['lanczos', 'bicubic', 'nearest'];

export class Choices {
  /** @param {{checkpoints: object[], defaultName: string}} options */
  constructor({ checkpoints, defaultName }) {
    this.checkpoints = checkpoints.filter((m) => m.status === 'valid');
    this.defaultName = defaultName;
    this.model = byId('f-model');
    this.preset = byId('f-size');
    this.width = byId('f-width');
    this.height = byId('f-height');
    this.lock = byId('f-aspect-lock');
    this.lora = byId('f-lora');
    this.loraWeight = byId('f-lora-weight');
    this.ratio = null;
    this.defaultModel = '';
    this.#bind();
  }

  /** Fill the model picker for a mode: inpainting checkpoints only for inpaint (listed first there). */
  fillModels(mode) {
    const fits = mode === 'inpaint'
      ? [...this.checkpoints.filter((m) => m.inpaint), ...this.checkpoints.filter((m) => !m.inpaint)]
      : this.checkpoints.filter((m) => !m.inpaint);
    const names = fits.map((m) => m.name);
    const kept = this.model.value;
    this.model.replaceChildren();
    if (names.length === 0) this.model.append(h('option', { value: '' }, 'Server default'));
    for (const m of fits) this.model.append(h('option', { value: m.name }, m.arch ? `${m.name} · ${m.arch}` : m.name));
    const preferred = mode === 'inpaint' ? fits.find((m) => m.inpaint)?.name : this.defaultName;
    this.defaultModel = names.includes(preferred) ? preferred : (names[0] ?? '');
    this.model.value = names.includes(kept) && !(mode === 'inpaint' && preferred) ? kept : this.defaultModel;
    this.fillPresets();
  }

  /** The sampler, schedule type and priority pickers: samplers by label, the others by the schema's enums. */
  fillPickers(parameters, samplers) {
    byId('f-sampler').append(...samplers.map(({ name, label }) => h('option', { value: name }, label)));
    const schema = parameters?.modes?.txt2img;
    for (const name of ['scheduler', 'priority']) {
      const select = byId(`f-${name}`);
      const choices = enumOf(schema, name);
      select.append(...choices.map((c) => h('option', { value: c }, c[0].toUpperCase() + c.slice(1))));
      select.value = schema?.properties?.[name]?.default ?? choices[0] ?? '';
    }
  }

  /** Only the samplers that fit the chosen model (SD3 and Flux take the flow-matching ones); the choice moves to
   * the first that fits when the current one does not. */
  async fitSamplers() {
    let fitting;
    try {
      fitting = new Set((await api.samplers(this.model.value || undefined)).map((s) => s.name));
    } catch {
      return; // the submit's 422 names the sampler if it does not fit
    }
    const select = byId('f-sampler');
    for (const option of select.options) option.hidden = option.disabled = option.value !== '' && !fitting.has(option.value);
    if (select.selectedOptions[0]?.disabled) select.value = [...select.options].find((o) => !o.disabled)?.value ?? '';
  }

  /** The presets of the chosen model's architecture. */
  fillPresets() {
    const arch = this.checkpoints.find((m) => m.name === this.model.value)?.arch;
    this.preset.replaceChildren(
      h('option', { value: '' }, 'Custom'),
      ...presetsFor(arch).map((p) => h('option', { value: p.value }, p.label)),
    );
    this.syncPreset();
  }

  syncPreset() {
    const wanted = `${this.width.value}x${this.height.value}`;
    this.preset.value = [...this.preset.options].some((o) => o.value === wanted) ? wanted : '';
  }

  /** LoRAs, VAEs and model upscalers, once the first view is up (GET /api/v1/models?type=...). */
  setLists({ loras = [], vaes = [], upscalers = [] }) {
    this.lora.replaceChildren(...loras.map((m) => h('option', { value: m.name }, m.arch ? `${m.name} · ${m.arch}` : m.name)));
    byId('lora-add').disabled = loras.length === 0;
    byId('f-vae').append(...vaes.map((m) => h('option', { value: m.name }, m.name)));
    for (const id of ['f-upscaler', 'f-hr_upscaler']) {
      const select = byId(id);
      const have = new Set([...select.options].map((o) => o.value));
      for (const m of upscalers) if (!have.has(m.name)) select.append(h('option', { value: m.name }, m.name));
      for (const name of BUILTIN_UPSCALERS) have.add(name);
    }
  }

  #bind() {
    this.model.addEventListener('change', () => {
      this.fillPresets();
      this.fitSamplers();
    });
    this.lock.addEventListener('change', () => {
      this.ratio = this.lock.checked ? Number(this.height.value) / Number(this.width.value) || null : null;
    });
    this.width.addEventListener('input', () => {
      if (this.ratio && this.width.value) this.height.value = String(lockedSide(this.width.value, this.ratio));
    });
    this.height.addEventListener('input', () => {
      if (this.ratio && this.height.value) this.width.value = String(lockedSide(this.height.value, 1 / this.ratio));
    });
    const weightText = byId('lora-weight-text');
    this.loraWeight.addEventListener('input', () => {
      weightText.textContent = this.loraWeight.value;
    });
    byId('lora-add').addEventListener('click', () => {
      const prompt = byId('f-prompt');
      prompt.value = addLoraTag(prompt.value, this.lora.value, this.loraWeight.value);
      prompt.dispatchEvent(new Event('input'));
    });
  }
}
