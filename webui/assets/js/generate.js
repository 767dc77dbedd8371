// The generate form, one mode at a time (txt2img, img2img, inpaint): fields and limits from
// GET /api/v1/parameters, an image in (upload) and the mask painter where the mode takes them, submit (button or
// Ctrl+Enter), and refusals (422 problem details) shown next to the field each error names.

import { api } from './api.js';
import { byId, setMessage } from './dom.js';
import {
  ADVANCED_FIELDS,
  defaultValues,
  EXTRA_FIELDS,
  FIELDS,
  fromRequest,
  HIRES_FIELDS,
  IMAGE_FIELD,
  limitsFrom,
  parsePreset,
  toModeRequest,
} from './form.js';
import { Choices } from './choices.js';
import { ControlNetUnits } from './controlnet.js';
import { ImageInput, upload } from './imagein.js';
import { Painter } from './painter.js';
import { setupRecent } from './recent.js';
import { fieldErrors } from './problems.js';

const ALL = [...FIELDS, ...EXTRA_FIELDS, ...ADVANCED_FIELDS, ...HIRES_FIELDS];
const TITLES = {
  txt2img: 'Text to image',
  img2img: 'Image to image',
  inpaint: 'Inpaint',
  controlnet: 'ControlNet',
  upscale: 'Upscale',
};
/** Error locations that name the form's image or mask → the element that shows them. */
const ERROR_TARGETS = { init_image: 'image', image: 'image', mask: 'mask', change_map: 'mask' };
/** The modes that paint, and what: an inpaint mask, or img2img's change map. */
const PAINTS = { inpaint: 'mask', img2img: 'change' };

export class GenerateView {
  /**
   * @param {{parameters: object, samplers: {name: string, label: string}[], checkpoints: object[],
   *          onSubmitted: (answer: object, request: object) => void}} options
   */
  constructor({ parameters, samplers, checkpoints, onSubmitted }) {
    this.form = byId('generate-form');
    this.button = byId('generate-button');
    this.preset = byId('f-size');
    this.randomSeed = byId('f-random_seed');
    this.formError = byId('e-form');
    this.modeSelect = byId('f-mode');
    this.mode = 'txt2img';
    this.onSubmitted = onSubmitted;
    this.limits = {
      ...limitsFrom(parameters?.modes?.txt2img),
      ...limitsFrom(parameters?.modes?.inpaint, EXTRA_FIELDS),
      ...limitsFrom(parameters?.modes?.upscale, ['scale']),
      ...limitsFrom(parameters?.modes?.txt2img, [...HIRES_FIELDS, 'clip_skip']),
    };
    this.choices = new Choices({ checkpoints, defaultName: parameters?.default_model });
    this.units = new ControlNetUnits();
    this.choices.fillModels(this.mode);
    this.choices.fillPickers(parameters, samplers);
    this.#applyLimits();
    this.write(defaultValues(this.limits));
    for (const name of [...EXTRA_FIELDS, 'hr_scale', 'hr_denoise']) {
      if (typeof this.limits[name]?.default === 'number') this.input(name).value = this.limits[name].default;
    }
    this.painter = new Painter();
    this.painter.setFeather(Number(this.input('mask_blur').value));
    this.imageIn = new ImageInput(byId('image-in'), { onChange: (image) => this.#imageChanged(image) });
    this.recent = setupRecent(byId('f-recent'), this.input('prompt'));
    this.#bind();
    this.button.disabled = false;
  }

  /** Switch the form to a mode: its title, its fields, the models that fit it. */
  setMode(mode) {
    this.mode = mode;
    this.modeSelect.value = mode;
    byId('generate-title').textContent = TITLES[mode];
    for (const element of this.form.querySelectorAll('[data-modes]')) {
      element.hidden = !element.dataset.modes.split(' ').includes(mode);
    }
    this.painter.load(PAINTS[mode] ? this.imageIn.image : null, PAINTS[mode]);
    this.choices.fillModels(mode);
    this.clearErrors();
  }

  #imageChanged(image) {
    setMessage(byId('e-image'), '');
    if (image) {
      this.input('width').value = String(image.width - (image.width % 8));
      this.input('height').value = String(image.height - (image.height % 8));
      this.choices.syncPreset();
    }
    if (PAINTS[this.mode]) this.painter.load(image, PAINTS[this.mode]);
  }

  input(name) {
    return byId(`f-${name}`);
  }

  #applyLimits() {
    for (const [name, limit] of Object.entries(this.limits)) {
      const input = this.input(name);
      if (limit.description) input.title = limit.description;
      if (input.type === 'number') {
        if (limit.min !== undefined) input.min = limit.min;
        if (limit.max !== undefined) input.max = limit.max;
        input.step = limit.step ?? 'any';
      }
      if (limit.maxLength !== undefined && input.tagName === 'TEXTAREA') input.maxLength = limit.maxLength;
    }
  }

  #bind() {
    this.form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.submit();
    });
    this.form.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        this.submit();
      }
    });
    this.modeSelect.addEventListener('change', () => this.setMode(this.modeSelect.value));
    this.form.addEventListener('paste', (event) => {
      if (this.mode !== 'txt2img') this.imageIn.paste(event);
    });
    this.randomSeed.addEventListener('change', () => this.#syncSeed());
    byId('seed-reuse').addEventListener('click', () => {
      this.randomSeed.checked = false;
      this.#syncSeed();
      this.input('seed').value = String(this.lastSeed);
    });
    this.preset.addEventListener('change', () => {
      const size = parsePreset(this.preset.value);
      if (size) {
        this.input('width').value = size.width;
        this.input('height').value = size.height;
      }
    });
    for (const name of ['width', 'height']) this.input(name).addEventListener('input', () => this.choices.syncPreset());
    this.input('mask_blur').addEventListener('input', () => this.painter.setFeather(Number(this.input('mask_blur').value)));
    for (const name of ALL) this.input(name).addEventListener('input', () => this.#clearField(name));
  }

  /** The seed of the last image made, for "Reuse last seed". */
  setLastSeed(seed) {
    this.lastSeed = seed;
    byId('seed-reuse').disabled = seed === undefined || seed === null;
  }

  /** Lists that load after the first view: LoRAs, VAEs, upscalers, ControlNets and preprocessors. */
  setLists(lists) {
    this.choices.setLists(lists);
    this.units.setChoices(lists.controlnets ?? [], lists.preprocessors);
  }

  #syncSeed() {
    const seed = this.input('seed');
    seed.disabled = this.randomSeed.checked;
    if (!seed.disabled && seed.value === '') seed.value = String(Math.floor(Math.random() * 2 ** 32));
  }

  /** The image ids the mode sends; the painted mask (or a change map, once painted) is uploaded here, as painted,
   * the size of the image. */
  async #images() {
    if (!IMAGE_FIELD[this.mode]) return {};
    const images = { image: this.imageIn.image?.id };
    if (this.mode === 'controlnet') images.controlnets = this.units.read();
    if (this.mode === 'inpaint' && this.painter.mask) images.mask = (await upload(await this.painter.toBlob())).id;
    if (this.mode === 'img2img' && this.painter.mask?.count()) {
      images.change_map = (await upload(await this.painter.toBlob())).id;
    }
    return images;
  }

  /** The form's values: strings, and random_seed as a boolean. */
  read() {
    const values = {};
    for (const name of ALL) {
      const input = this.input(name);
      values[name] = input.type === 'checkbox' ? input.checked : input.value;
    }
    values.random_seed = this.randomSeed.checked;
    return values;
  }

  /** Fill the form (from defaults, or a job's request to reuse). */
  write(values) {
    for (const name of FIELDS) {
      const value = values[name];
      if (value === undefined || (value === '' && (name === 'model' || name === 'sampler'))) continue;
      const input = this.input(name);
      if (input.tagName === 'SELECT' && ![...input.options].some((o) => o.value === String(value))) continue;
      this.input(name).value = value;
    }
    if (!values.model) this.input('model').value = this.choices.defaultModel;
    this.choices.fillPresets();
    this.randomSeed.checked = Boolean(values.random_seed);
    this.#syncSeed();
    this.choices.syncPreset();
    this.clearErrors();
  }

  /** "Send to …": the image at ``url`` becomes the input of ``mode`` (ControlNet: the first unit's image). */
  async useImage(mode, url) {
    this.setMode(mode);
    const blob = await (await fetch(url)).blob();
    const file = new File([blob], 'from-gallery.png', { type: blob.type || 'image/png' });
    const target = mode === 'controlnet' ? this.units.units[0]?.input : this.imageIn;
    byId('generate').scrollIntoView({ block: 'start' });
    await target?.take(file);
  }

  /** Values read from a PNG's parameters: into the form, in the mode it is in (txt2img when it takes none). */
  load(values) {
    if (this.mode === 'upscale') this.setMode('txt2img');
    this.write({ ...this.read(), ...values, model: values.model ?? '' });
    for (const name of ['clip_skip', 'strength']) if (values[name] !== undefined) this.input(name).value = values[name];
    byId('generate').scrollIntoView({ block: 'start' });
    this.input('prompt').focus();
  }

  /** Reuse a job's parameters, with this image's seed. */
  reuse(request, seed) {
    this.write(fromRequest(request, seed));
    this.input('prompt').focus();
  }

  clearErrors() {
    for (const name of ALL) this.#clearField(name);
    setMessage(byId('e-image'), '');
    setMessage(byId('e-mask'), '');
    setMessage(this.formError, '');
  }

  #clearField(name) {
    this.input(name).removeAttribute('aria-invalid');
    const message = document.getElementById(`e-${name}`);
    if (message) setMessage(message, '');
  }

  showProblem(problem) {
    const { fields, general } = fieldErrors(problem, [...ALL, ...Object.keys(ERROR_TARGETS)]);
    let first = null;
    for (const [name, messages] of Object.entries(fields)) {
      if (ERROR_TARGETS[name]) {
        setMessage(byId(`e-${ERROR_TARGETS[name]}`), messages.join('; '));
        continue;
      }
      const input = this.input(name);
      input.setAttribute('aria-invalid', 'true');
      setMessage(byId(`e-${name}`), messages.join('; '));
      first ??= input;
    }
    setMessage(this.formError, general.join('\n'));
    if (first && !first.disabled) first.focus();
  }

  async submit() {
    if (this.busy) return;
    this.busy = true;
    this.button.disabled = true;
    this.clearErrors();
    try {
      const request = toModeRequest(this.mode, this.read(), await this.#images());
      const answer = await api.generate(this.mode, request);
      this.onSubmitted(answer, request);
      if (request.prompt) this.recent.add(request.prompt);
    } catch (error) {
      if (!error.problem) throw error;
      this.showProblem(error.problem);
    } finally {
      this.busy = false;
      this.button.disabled = false;
    }
  }
}
