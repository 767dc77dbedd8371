// Small DOM helpers: build elements without innerHTML (no markup from data ever reaches the parser).

/** h('button', {type: 'button', onclick: f, class: 'x'}, 'Cancel') */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') element.addEventListener(name.slice(2), value);
    else if (name === 'dataset') Object.assign(element.dataset, value);
    else if (value === true) element.setAttribute(name, '');
    else element.setAttribute(name, String(value));
  }
  element.append(...children.flat().filter((child) => child !== undefined && child !== null && child !== false));
  return element;
}

/** The element with this id; throws when the page lacks it (a broken template shows at once). */
export function byId(id) {
  const element = document.getElementById(id);
  if (!element) throw new Error(`#${id} is missing from the page`);
  return element;
}

/** Show or hide a message element (empty text hides it). */
export function setMessage(element, text) {
  element.textContent = text ?? '';
  element.hidden = !text;
}
