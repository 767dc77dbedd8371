// Theme toggle: system → light → dark → system; the choice is kept in localStorage ('sdq-theme').

const ORDER = ['system', 'light', 'dark'];
const KEY = 'sdq-theme';

function stored() {
  try {
    return localStorage.getItem(KEY) ?? 'system';
  } catch {
    return 'system';
  }
}

function apply(theme, button) {
  if (theme === 'system') delete document.documentElement.dataset.theme;
  else document.documentElement.dataset.theme = theme;
  button.textContent = `Theme: ${theme}`;
  try {
    if (theme === 'system') localStorage.removeItem(KEY);
    else localStorage.setItem(KEY, theme);
  } catch {
    // storage blocked: the choice lasts this page
  }
}

export function setupTheme(button) {
  let theme = ORDER.includes(stored()) ? stored() : 'system';
  apply(theme, button);
  button.addEventListener('click', () => {
    theme = ORDER[(ORDER.indexOf(theme) + 1) % ORDER.length];
    apply(theme, button);
  });
}
