// The last 50 prompts, kept in this browser (localStorage 'sdq-prompts'), newest first, each once.

export const KEY = 'sdq-prompts';
export const KEEP = 50;

/** The list with ``prompt`` first (moved up when it was there), at most KEEP long. */
export function remember(list, prompt, keep = KEEP) {
  const text = String(prompt ?? '').trim();
  if (!text) return list;
  return [text, ...list.filter((p) => p !== text)].slice(0, keep);
}

export function loadRecent(storage = globalThis.localStorage) {
  try {
    const list = JSON.parse(storage?.getItem(KEY) ?? '[]');
    return Array.isArray(list) ? list.filter((p) => typeof p === 'string').slice(0, KEEP) : [];
  } catch {
    return [];
  }
}

export function saveRecent(list, storage = globalThis.localStorage) {
  try {
    storage?.setItem(KEY, JSON.stringify(list));
  } catch {
    // storage blocked or full: the list lasts this page
  }
}

/** The "Recent prompts" picker: filled from storage; picking one fills the prompt; add() after each submit. */
export function setupRecent(select, prompt, storage = globalThis.localStorage) {
  let list = loadRecent(storage);
  const fill = () => {
    const first = select.options[0];
    select.replaceChildren(first);
    for (const text of list) {
      const option = document.createElement('option');
      option.value = text;
      option.textContent = text.length > 80 ? `${text.slice(0, 79)}…` : text;
      select.append(option);
    }
  };
  fill();
  select.addEventListener('change', () => {
    if (!select.value) return;
    prompt.value = select.value;
    prompt.dispatchEvent(new Event('input'));
    select.value = '';
    prompt.focus();
  });
  return {
    add(text) {
      list = remember(list, text);
      saveRecent(list, storage);
      fill();
    },
  };
}
