// Telegram's WebApp object when the page runs inside Telegram; harmless stand-ins otherwise
// (a plain browser: no telegram-web-app.js, or loaded but without init data).

const webApp = window.Telegram && window.Telegram.WebApp ? window.Telegram.WebApp : null;

/** Whether the page runs inside Telegram (the script is there and has init data). */
export const inTelegram = Boolean(webApp && webApp.initData);

/** The init data: Telegram's, else `#tgWebAppData=<url-encoded init data>` (development). */
export function initData() {
  if (inTelegram) return webApp.initData;
  const params = new URLSearchParams(location.hash.replace(/^#/, ''));
  return params.get('tgWebAppData') || '';
}

/** The Telegram user's language code, read from the init data (before `me` answers). */
export function initDataLanguage() {
  try {
    const user = JSON.parse(new URLSearchParams(initData()).get('user') || '{}');
    return typeof user.language_code === 'string' ? user.language_code : '';
  } catch {
    return '';
  }
}

/** The link's start parameter (t.me/<bot>/<app>?startapp=orders), if any. */
export function startParam() {
  if (inTelegram && webApp.initDataUnsafe && typeof webApp.initDataUnsafe.start_param === 'string') {
    return webApp.initDataUnsafe.start_param;
  }
  return new URLSearchParams(location.hash.replace(/^#/, '')).get('tgWebAppStartParam') || '';
}

export function ready() {
  if (!webApp) return;
  try {
    webApp.ready();
    webApp.expand();
  } catch {
    // An old client: the page works without.
  }
}

/** "light" | "dark": Telegram's colour scheme, else ?theme=, else the system's. */
export function colorScheme() {
  if (inTelegram && (webApp.colorScheme === 'dark' || webApp.colorScheme === 'light')) return webApp.colorScheme;
  const asked = new URLSearchParams(location.search).get('theme');
  if (asked === 'dark' || asked === 'light') return asked;
  return window.matchMedia && window.matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
}

/** Calls `callback` when the colours change (Telegram's themeChanged, or the system's). */
export function onThemeChanged(callback) {
  if (inTelegram) {
    webApp.onEvent('themeChanged', callback);
  } else if (window.matchMedia) {
    window.matchMedia('(prefers-color-scheme: dark)').addEventListener('change', callback);
  }
}

let backHandler = null;

/** Shows Telegram's BackButton calling `handler`, or hides it (null). */
export function backButton(handler) {
  if (!inTelegram || !webApp.BackButton) return;
  if (backHandler) webApp.BackButton.offClick(backHandler);
  backHandler = handler;
  if (handler) {
    webApp.BackButton.onClick(handler);
    webApp.BackButton.show();
  } else {
    webApp.BackButton.hide();
  }
}

let mainHandler = null;

/** Shows Telegram's MainButton with `text` calling `handler`, or hides it (null). */
export function mainButton(text, handler, { enabled = true } = {}) {
  if (!inTelegram || !webApp.MainButton) return;
  const button = webApp.MainButton;
  if (mainHandler) button.offClick(mainHandler);
  mainHandler = handler;
  if (!handler) {
    button.hide();
    return;
  }
  button.setText(text);
  button.onClick(handler);
  if (enabled) button.enable();
  else button.disable();
  button.show();
}

/** Shows or hides the MainButton's progress spinner. */
export function mainButtonProgress(on) {
  if (!inTelegram || !webApp.MainButton) return;
  if (on) webApp.MainButton.showProgress(false);
  else webApp.MainButton.hideProgress();
}

export function haptic(kind) {
  try {
    if (!inTelegram || !webApp.HapticFeedback) return;
    if (kind === 'success' || kind === 'error' || kind === 'warning') webApp.HapticFeedback.notificationOccurred(kind);
    else webApp.HapticFeedback.selectionChanged();
  } catch {
    // Optional.
  }
}

/** Opens an outside link: Telegram's in-app browser, else a new tab. */
export function openLink(url) {
  if (inTelegram && webApp.openLink) webApp.openLink(url);
  else window.open(url, '_blank', 'noopener');
}

/** Opens a Telegram link (t.me): inside Telegram without leaving it. */
export function openTelegramLink(url) {
  if (inTelegram && webApp.openTelegramLink && /^https:\/\/t\.me\//.test(url)) webApp.openTelegramLink(url);
  else window.open(url, '_blank', 'noopener');
}

/** Opens a Telegram invoice link (t.me/$…) in Telegram's payment sheet; `done(status)`. */
export function openInvoice(url, done) {
  if (inTelegram && webApp.openInvoice && /^https:\/\/t\.me\/\$/.test(url)) {
    webApp.openInvoice(url, (status) => done(status));
    return true;
  }
  return false;
}

/** Asks `message` with Telegram's native dialog; in a plain browser it is a yes. */
export function confirmAction(message) {
  if (inTelegram && webApp.showConfirm) {
    return new Promise((resolve) => {
      try {
        webApp.showConfirm(message, (ok) => resolve(Boolean(ok)));
      } catch {
        resolve(true);
      }
    });
  }
  return Promise.resolve(true);
}
