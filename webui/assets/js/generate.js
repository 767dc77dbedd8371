// The txt2img form: fields and limits from GET /api/v1/parameters, submit (button or Ctrl+Enter), and refusals
// (422 problem details) shown next to the field each error names.

import { api } from './api.js';
import { byId, h, setMessage } from './dom.js';
import { defaultValues, FIELDS, fromRequest, limitsFrom, parsePreset, toRequest } from './form.js';
import { fieldErrors } from './problems.js';

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
    this.onSubmitted = onSubmitted;
    this.limits = limitsFrom(parameters?.modes?.txt2img);
    this.#fillChoices(samplers, checkpoints, parameters?.default_model);
    this.#applyLimits();
    this.write(defaultValues(this.limits));
    this.#bind();
    this.button.disabled = false;
  }

  input(name) {
    return byId(`f-${name}`);
  }

  #fillChoices(samplers, checkpoints, defaultModel) {
    const models = checkpoints.filter((m) => m.status === 'valid' && !m.inpaint).map((m) => m.name);
    const modelSelect = this.input('model');
    if (models.length === 0) modelSelect.append(h('option', { value: '' }, 'Server default'));
    for (const name of models) modelSelect.append(h('option', { value: name }, name));
    this.defaultModel = models.includes(defaultModel) ? defaultModel : (models[0] ?? '');
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
    this.randomSeed.addEventListener('change', () => this.#syncSeed());
    this.preset.addEventListener('change', () => {
      const size = parsePreset(this.preset.value);
      if (size) {
        this.input('width').value = size.width;
        this.input('height').value = size.height;
      }
    });
    for (const name of ['width', 'height']) this.input(name).addEventListener('input', () => this.#syncPreset());
    for (const name of FIELDS) this.input(name).addEventListener('input', () => this.#clearField(name));
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

  /** The form's values: strings, and random_seed as a boolean. */
  read() {
    const values = {};
    for (const name of FIELDS) values[name] = this.input(name).value;
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
    for (const name of FIELDS) this.#clearField(name);
    setMessage(this.formError, '');
  }

  #clearField(name) {
    this.input(name).removeAttribute('aria-invalid');
    setMessage(byId(`e-${name}`), '');
  }

  showProblem(problem) {
    const { fields, general } = fieldErrors(problem, FIELDS);
    let first = null;
    for (const [name, messages] of Object.entries(fields)) {
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
    const request = toRequest(this.read());
    try {
      const answer = await api.txt2img(request);
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
