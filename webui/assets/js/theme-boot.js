// Classic (blocking) script in <head>: apply the stored theme before the first paint, so no flash of the other one.
try {
  const theme = localStorage.getItem('sdq-theme');
  if (theme === 'light' || theme === 'dark') document.documentElement.dataset.theme = theme;
} catch {
  // storage blocked: follow the system
}
