// The Mini App: boot (init data, theme, language, `me`), the tab bar, navigation between
// screens, Telegram's Back/Main buttons, and the screens' shared context.

import { h, icon, replace } from './dom.js';
import * as tg from './telegram.js';
import { api, ApiError } from './api.js';
import { errorText, setLanguage, t } from './i18n.js';
import * as cart from './cart.js';
import balance from './balance.js';
import { orders, order } from './orders.js';
import documents from './documents.js';
import booking from './booking.js';
import { catalogue, cartScreen } from './shop.js';
import settings from './settings.js';

/** The screens by name; `tab`: shown in the tab bar when the business has `capability`. */
const SCREENS = {
  balance: { ...balance, tab: true, capability: 'billing' },
  orders: { ...orders, tab: true, capability: 'logistics' },
  order: { ...order, parent: 'orders' },
  documents: { ...documents, tab: true, capability: 'documents' },
  booking: { ...booking, tab: true, capability: 'booking' },
  catalogue: { ...catalogue, tab: true, capability: 'shop' },
  cart: { ...cartScreen, parent: 'catalogue' },
  settings: { ...settings, tab: true, capability: null },
};
const TAB_ORDER = ['balance', 'orders', 'documents', 'booking', 'catalogue', 'settings'];

const main = document.querySelector('[data-main]');
const tabbar = document.querySelector('[data-tabbar]');
const backLink = document.querySelector('[data-action="back"]');
const cartLink = document.querySelector('[data-nav="cart"]');
const cartCount = document.querySelector('[data-cart-count]');
const titleEl = document.querySelector('[data-title]');
const businessEl = document.querySelector('[data-business]');

const app = {
  me: null,
  /** The screens opened from the current tab: [{name, params}], the last one shown. */
  stack: [],
  /** Bumped on every navigation: a load that finishes for an older one is dropped. */
  generation: 0,
  localBack: null,
  current: null,
};

// --- theme -------------------------------------------------------------------------------

function applyTheme() {
  document.documentElement.dataset.theme = tg.colorScheme();
  if (app.current && app.current.onTheme) app.current.onTheme();
}

// --- readiness ---------------------------------------------------------------------------

function busy() {
  delete document.body.dataset.ready;
}

function ready(name) {
  document.body.dataset.ready = name;
}

// --- navigation ----------------------------------------------------------------------------

function available(name) {
  if (!Object.hasOwn(SCREENS, name) || !app.me) return false;
  const screen = SCREENS[name];
  const caps = app.me.capabilities || {};
  if (name === 'cart' || name === 'order') return true;
  return screen.capability === null || Boolean(caps[screen.capability]);
}

/** Opens `name`: a tab (the stack restarts) or a sub-screen (pushed). */
function navigate(name, params = {}, { replaceTop = false } = {}) {
  if (!available(name)) return;
  const screen = SCREENS[name];
  if (screen.tab) app.stack = [];
  else if (replaceTop) app.stack.pop();
  app.stack.push({ name, params });
  show();
}

function back() {
  if (app.localBack) {
    const handler = app.localBack;
    handler();
    return;
  }
  if (app.stack.length > 1) {
    app.stack.pop();
    show();
    return;
  }
  const top = app.stack[app.stack.length - 1];
  const parent = top && SCREENS[top.name].parent;
  if (parent) {
    app.stack = [{ name: parent, params: {} }];
    show();
  }
}

function updateBack() {
  const top = app.stack[app.stack.length - 1];
  const sub = Boolean(app.localBack) || app.stack.length > 1 || Boolean(top && SCREENS[top.name].parent);
  backLink.hidden = !sub;
  tg.backButton(sub ? back : null);
}

/** Renders the screen on top of the stack. */
async function show() {
  const generation = ++app.generation;
  const { name, params } = app.stack[app.stack.length - 1];
  const screen = SCREENS[name];
  busy();
  app.localBack = null;
  tg.mainButton(null, null);
  if (app.current && app.current.leave) app.current.leave();
  app.current = null;
  for (const button of tabbar.querySelectorAll('[data-nav]')) {
    const tab = screen.tab ? name : screen.parent;
    button.classList.toggle('active', button.dataset.nav === tab);
    if (button.dataset.nav === tab) button.setAttribute('aria-current', 'page');
    else button.removeAttribute('aria-current');
  }
  cartLink.classList.toggle('active', name === 'cart');
  const root = h('section', { class: 'screen', data: { screen: name } });
  root.append(h('div', { class: 'screen-loading' }, h('div', { class: 'spinner', 'aria-hidden': 'true' })));
  replace(main, root);
  titleEl.textContent = screen.title(params);
  updateBack();
  window.scrollTo(0, 0);
  const ctx = context(name, root, generation);
  try {
    const instance = await screen.load(ctx, params);
    if (!ctx.current()) return;
    app.current = instance || null;
    ready(name);
  } catch (error) {
    if (!ctx.current()) return;
    fail(error, () => show());
  }
}

/** What a screen is given: its root, the API, navigation and the buttons. */
function context(name, root, generation) {
  const ctx = {
    root,
    me: app.me,
    api,
    navigate,
    /** Whether this screen is still the one shown. */
    current: () => generation === app.generation,
    /** A load inside the screen begins: `body[data-ready]` is cleared until `done()`. */
    busy() {
      if (ctx.current()) busy();
    },
    done() {
      if (ctx.current()) ready(name);
    },
    title(text) {
      if (ctx.current()) titleEl.textContent = text;
    },
    /** A back step inside the screen (null: none); shows the back buttons. */
    localBack(handler) {
      if (!ctx.current()) return;
      app.localBack = handler;
      updateBack();
    },
    mainButton(text, handler, options) {
      if (ctx.current()) tg.mainButton(text, handler, options);
    },
    mainButtonProgress: tg.mainButtonProgress,
    /** The language changed (Settings): the page's words and the tab bar follow. */
    relocalize,
    /** A failure while loading something inside the screen: the whole-app screens for
     *  401/403, else `false` (the screen shows the message itself). */
    fatal(error) {
      if (!ctx.current()) return true;
      if (error instanceof ApiError && (error.status === 401 || error.code === 'not_identified')) {
        fail(error);
        return true;
      }
      return false;
    },
    /** An inline polite message (`[data-error]`) for `error` (an ApiError or a text). */
    errorBox(error, retry) {
      const text = typeof error === 'string' ? error : errorText(error);
      return h(
        'div',
        { class: 'notice error', role: 'alert', data: { error: true } },
        h('p', {}, text),
        retry ? h('button', { type: 'button', class: 'button secondary', onclick: retry }, t('common.retry')) : null,
      );
    },
  };
  return ctx;
}

// --- the whole-app screens: error, identify -------------------------------------------------

/** Shows what `error` calls for: "identify", the reopen message (401) or a retry (others). */
function fail(error, retry) {
  app.generation += 1;
  app.localBack = null;
  app.current = null;
  tg.mainButton(null, null);
  if (error instanceof ApiError && error.code === 'not_identified') {
    identify(error.body && typeof error.body.chat_url === 'string' ? error.body.chat_url : '');
    return;
  }
  const status = error instanceof ApiError ? error.status : 0;
  if (error instanceof Error && !(error instanceof ApiError)) console.error(error);
  const canRetry = status !== 401 && retry;
  const root = h(
    'section',
    { class: 'screen', data: { screen: 'error' } },
    h(
      'div',
      { class: 'card center' },
      h('h2', {}, t('err.title')),
      h(
        'div',
        { class: 'notice error', role: 'alert', data: { error: true } },
        h('p', {}, error === 'no_init_data' ? t('err.no_init_data') : errorText(error)),
      ),
      canRetry ? h('button', { type: 'button', class: 'button', data: { action: 'retry' }, onclick: retry }, t('common.retry')) : null,
    ),
  );
  replace(main, root);
  if (status === 401 || error === 'no_init_data') {
    tabbar.hidden = true;
    cartLink.hidden = true;
  }
  backLink.hidden = true;
  tg.backButton(null);
  ready('error');
}

function identify(chatUrl) {
  tabbar.hidden = true;
  cartLink.hidden = true;
  backLink.hidden = true;
  tg.backButton(null);
  titleEl.textContent = t('app.title');
  const link = h(
    'a',
    { class: 'button', href: chatUrl || 'https://t.me/', target: '_blank', rel: 'noopener', data: { 'chat-link': true } },
    t('identify.link'),
  );
  if (chatUrl) {
    link.addEventListener('click', (event) => {
      if (!tg.inTelegram) return;
      event.preventDefault();
      tg.openTelegramLink(chatUrl);
    });
  }
  replace(
    main,
    h(
      'section',
      { class: 'screen', data: { screen: 'identify' } },
      h('div', { class: 'card center' }, h('h2', {}, t('identify.title')), h('p', {}, t('identify.text')), link),
    ),
  );
  ready('identify');
}

// --- the tab bar and the cart's link --------------------------------------------------------

function renderChrome() {
  const caps = (app.me && app.me.capabilities) || {};
  const tabs = TAB_ORDER.filter((name) => available(name));
  replace(
    tabbar,
    tabs.map((name) =>
      h(
        'button',
        { type: 'button', class: 'tab', data: { nav: name }, onclick: () => navigate(name) },
        icon(name),
        h('span', {}, t(`nav.${name}`)),
      ),
    ),
  );
  tabbar.hidden = false;
  tabbar.style.setProperty('--tabs', String(tabs.length));
  cartLink.hidden = !caps.shop;
  cartLink.setAttribute('aria-label', t('nav.cart'));
  backLink.setAttribute('aria-label', t('common.back'));
  businessEl.textContent = app.me ? app.me.business || '' : '';
  updateCartCount();
}

function updateCartCount() {
  const n = cart.count();
  cartCount.textContent = String(n);
  cartLink.classList.toggle('empty', n === 0);
}

/** Re-renders everything in the new language (after Settings changed it). */
function relocalize(language) {
  if (app.me) app.me.language = language;
  setLanguage(language);
  renderChrome();
}

// --- boot ----------------------------------------------------------------------------------

function boot() {
  applyTheme();
  tg.onThemeChanged(applyTheme);
  setLanguage(tg.initDataLanguage().startsWith('en') ? 'en' : 'ru');
  tg.ready();
  backLink.addEventListener('click', back);
  cartLink.addEventListener('click', () => navigate('cart'));
  cart.onChange(updateCartCount);
  if (!tg.initData()) {
    fail('no_init_data');
    return;
  }
  start();
}

/** Learns who the customer is and opens the first screen. */
async function start() {
  busy();
  try {
    app.me = await api('me');
  } catch (error) {
    fail(error, () => start());
    return;
  }
  setLanguage(app.me.language);
  renderChrome();
  const first = TAB_ORDER.find((name) => available(name));
  const asked = new URLSearchParams(location.search).get('screen') || tg.startParam();
  navigate(asked && available(asked) && SCREENS[asked].tab ? asked : first);
}

boot();
