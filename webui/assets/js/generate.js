// The generate form, one mode at a time (txt2img, img2img, inpaint): fields and limits from
// GET /api/v1/parameters, an image in (upload) and the mask painter where the mode takes them, submit (button or
// Ctrl+Enter), and refusals (422 problem details) shown next to the field each error names.

import { api } from './api.js';
import { byId, h, setMessage } from './dom.js';
import {
  defaultValues,
  EXTRA_FIELDS,
  FIELDS,
  fromRequest,
  IMAGE_FIELD,
  limitsFrom,
  parsePreset,
  toModeRequest,
} from './form.js';
import { ImageInput, upload } from './imagein.js';
import { Painter } from './painter.js';
import { fieldErrors } from './problems.js';

const ALL = [...FIELDS, ...EXTRA_FIELDS];
const TITLES = { txt2img: 'Text to image', img2img: 'Image to image', inpaint: 'Inpaint' };
/** Error locations that name the form's image or mask → the element that shows them. */
const ERROR_TARGETS = { init_image: 'image', image: 'image', mask: 'mask' };

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
    };
    this.checkpoints = checkpoints.filter((m) => m.status === 'valid');
    this.defaultName = parameters?.default_model;
    this.#fillChoices(samplers);
    this.#applyLimits();
    this.write(defaultValues(this.limits));
    for (const name of EXTRA_FIELDS) if (this.limits[name]?.default !== undefined) this.input(name).value = this.limits[name].default;
    this.painter = new Painter();
    this.imageIn = new ImageInput(byId('image-in'), { onChange: (image) => this.#imageChanged(image) });
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
    if (mode === 'inpaint' && this.imageIn.image) this.painter.load(this.imageIn.image);
    if (mode !== 'inpaint') this.painter.root.hidden = true;
    this.#fillModels();
    this.clearErrors();
  }

  #imageChanged(image) {
    setMessage(byId('e-image'), '');
    if (image) {
      this.input('width').value = String(image.width - (image.width % 8));
      this.input('height').value = String(image.height - (image.height % 8));
      this.#syncPreset();
    }
    if (this.mode === 'inpaint') this.painter.load(image);
  }

  input(name) {
    return byId(`f-${name}`);
  }

  /** The checkpoints that fit the mode: inpainting ones only for inpaint (listed first there). */
  #fillModels() {
    const fits = this.mode === 'inpaint'
      ? [...this.checkpoints.filter((m) => m.inpaint), ...this.checkpoints.filter((m) => !m.inpaint)]
      : this.checkpoints.filter((m) => !m.inpaint);
    const models = fits.map((m) => m.name);
    const modelSelect = this.input('model');
    const kept = modelSelect.value;
    modelSelect.replaceChildren();
    if (models.length === 0) modelSelect.append(h('option', { value: '' }, 'Server default'));
    for (const model of fits) {
      const badge = model.architecture ? ` (${model.architecture})` : '';
      modelSelect.append(h('option', { value: model.name }, model.name + badge));
    }
    const preferred = this.mode === 'inpaint' ? fits.find((m) => m.inpaint)?.name : this.defaultName;
    this.defaultModel = models.includes(preferred) ? preferred : (models[0] ?? '');
    modelSelect.value = models.includes(kept) && !(this.mode === 'inpaint' && preferred) ? kept : this.defaultModel;
  }

  #fillChoices(samplers) {
    this.#fillModels();
    const samplerSelect = this.input('sampler');
    for (const { name, label } of samplers) samplerSelect.append(h('option', { value: name }, label));
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
    this.preset.addEventListener('change', () => {
      const size = parsePreset(this.preset.value);
      if (size) {
        this.input('width').value = size.width;
        this.input('height').value = size.height;
      }
    });
    for (const name of ['width', 'height']) this.input(name).addEventListener('input', () => this.#syncPreset());
    for (const name of ALL) this.input(name).addEventListener('input', () => this.#clearField(name));
  }

  #syncSeed() {
    const seed = this.input('seed');
    seed.disabled = this.randomSeed.checked;
    if (!seed.disabled && seed.value === '') seed.value = String(Math.floor(Math.random() * 2 ** 32));
  }

  #syncPreset() {
    const wanted = `${this.input('width').value}x${this.input('height').value}`;
    const known = [...this.preset.options].some((option) => option.value === wanted);
    this.preset.value = known ? wanted : '';
  }

  /** The image ids the mode sends; the painted mask is uploaded here, as painted, the size of the image. */
  async #images() {
    if (!IMAGE_FIELD[this.mode]) return {};
    const images = { image: this.imageIn.image?.id };
    if (this.mode === 'inpaint' && this.painter.mask) images.mask = (await upload(await this.painter.toBlob())).id;
    return images;
  }

  /** The form's values: strings, and random_seed as a boolean. */
  read() {
    const values = {};
    for (const name of ALL) values[name] = this.input(name).value;
    values.random_seed = this.randomSeed.checked;
    return values;
  }

  /** Fill the form (from defaults, or a job's request to reuse). */
  write(values) {
    for (const name of FIELDS) {
      const value = values[name];
      if (value === undefined || (value === '' && (name === 'model' || name === 'sampler'))) continue;
      this.input(name).value = value;
    }
    if (!values.model) this.input('model').value = this.defaultModel;
    this.randomSeed.checked = Boolean(values.random_seed);
    this.#syncSeed();
    this.#syncPreset();
    this.clearErrors();
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
    setMessage(byId(`e-${name}`), '');
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
    } catch (error) {
      if (!error.problem) throw error;
      this.showProblem(error.problem);
    } finally {
      this.busy = false;
      this.button.disabled = false;
    }
  }
}
