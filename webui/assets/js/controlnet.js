// ControlNet units (1..4): each a ControlNet, its control image (uploaded like every image), a weight and a
// preprocessor; read() gives the request's `controlnets`.

import { byId, h } from './dom.js';
import { ImageInput } from './imagein.js';

export const MAX_UNITS = 4;

export class ControlNetUnits {
  constructor() {
    this.root = byId('controlnet-units');
    this.addButton = byId('unit-add');
    this.units = [];
    this.serial = 0;
    this.controlnets = [];
    this.preprocessors = ['none'];
    this.addButton.addEventListener('click', () => this.add());
  }

  /** The choices (GET /api/v1/parameters: controlnets, preprocessors); the first unit appears with them. */
  setChoices(controlnets, preprocessors) {
    this.controlnets = controlnets;
    this.preprocessors = preprocessors?.length ? preprocessors : ['none'];
    if (this.units.length === 0) this.add();
  }

  add() {
    if (this.units.length >= MAX_UNITS) return;
    this.serial += 1;
    const n = this.serial;
    const id = (name) => `cn${n}-${name}`;
    const select = h('select', { id: id('model') }, ...this.controlnets.map((name) => h('option', { value: name }, name)));
    const weight = h('input', { id: id('weight'), type: 'number', min: 0, max: 2, step: 0.05, value: 1, inputmode: 'decimal' });
    const pre = h('select', { id: id('pre') }, ...this.preprocessors.map((name) => h('option', { value: name }, name)));
    const file = h('input', { id: id('image'), type: 'file', accept: 'image/png,image/jpeg,image/webp' });
    const drop = h('div', { class: 'field drop' }, h('label', { for: id('image') }, `Control image ${n}`), file);
    const element = h(
      'fieldset',
      { class: 'group unit', dataset: { unit: n } },
      h('legend', {}, `ControlNet unit ${n}`),
      h(
        'div',
        { class: 'row' },
        h('div', { class: 'field' }, h('label', { for: id('model') }, `ControlNet ${n}`), select),
        h('div', { class: 'field' }, h('label', { for: id('weight') }, `Weight ${n}`), weight),
      ),
      h('div', { class: 'field' }, h('label', { for: id('pre') }, `Preprocessor ${n}`), pre),
      drop,
    );
    const unit = { element, select, weight, pre, input: new ImageInput(drop, { onChange: () => {} }) };
    if (this.units.length > 0) {
      element.append(h('button', { type: 'button', onclick: () => this.remove(unit) }, `Remove unit ${n}`));
    }
    this.units.push(unit);
    this.addButton.parentElement.before(element);
    this.addButton.disabled = this.units.length >= MAX_UNITS;
  }

  remove(unit) {
    unit.element.remove();
    this.units = this.units.filter((u) => u !== unit);
    this.addButton.disabled = false;
  }

  /** The request's units; a unit without an image is sent as it is, for the server to name its field. */
  read() {
    return this.units.map((unit) => {
      const weight = Number(unit.weight.value);
      return {
        controlnet: unit.select.value,
        control_image: unit.input.image?.id ?? null,
        conditioning_scale: Number.isFinite(weight) && unit.weight.value !== '' ? weight : 1,
        preprocessor: unit.pre.value || 'none',
      };
    });
  }
}
