// The cart: lines {sku, name, qty, price: money, in_stock}, and the idempotency key of its
// checkout. Kept in localStorage per Telegram user, so closing the Mini App loses nothing.
// The key is made when a checkout is first tried and kept, retries included, until it
// succeeds; changing the cart makes the next attempt a new order (a new key).

import { newKey } from './api.js';
import { initData } from './telegram.js';

const listeners = [];
let state = load();

function storageKey() {
  let user = 'anonymous';
  try {
    const parsed = JSON.parse(new URLSearchParams(initData()).get('user') || '{}');
    if (parsed && parsed.id) user = String(parsed.id);
  } catch {
    // Nothing to key by: one shared cart.
  }
  return `cabinet.cart.${user}`;
}

function load() {
  try {
    const saved = JSON.parse(localStorage.getItem(storageKey()) || 'null');
    if (saved && Array.isArray(saved.lines)) {
      const lines = saved.lines.filter((l) => l && typeof l.sku === 'string' && Number.isInteger(l.qty) && l.qty > 0);
      return { lines, key: typeof saved.key === 'string' ? saved.key : null };
    }
  } catch {
    // Storage off or damaged: an empty cart.
  }
  return { lines: [], key: null };
}

function save() {
  try {
    localStorage.setItem(storageKey(), JSON.stringify(state));
  } catch {
    // Private mode: the cart lives as long as the page.
  }
  for (const listener of listeners) listener();
}

export function onChange(listener) {
  listeners.push(listener);
}

export function lines() {
  return state.lines;
}

export function count() {
  return state.lines.reduce((sum, line) => sum + line.qty, 0);
}

export function qty(sku) {
  const line = state.lines.find((l) => l.sku === sku);
  return line ? line.qty : 0;
}

/** Adds `n` of a product ({sku, name, price, in_stock}); the quantity stays within stock. */
export function add(product, n = 1) {
  const line = state.lines.find((l) => l.sku === product.sku);
  const limit = Number.isInteger(product.in_stock) && product.in_stock > 0 ? product.in_stock : Infinity;
  if (line) {
    line.qty = Math.min(line.qty + n, limit);
    line.name = product.name;
    line.price = product.price;
    line.in_stock = product.in_stock;
  } else {
    state.lines.push({ sku: product.sku, name: product.name, price: product.price, in_stock: product.in_stock, qty: Math.min(n, limit) });
  }
  state.key = null;
  save();
}

/** Sets a line's quantity (0 removes it). */
export function set(sku, n) {
  const line = state.lines.find((l) => l.sku === sku);
  if (!line) return;
  if (n <= 0) state.lines = state.lines.filter((l) => l.sku !== sku);
  else line.qty = n;
  state.key = null;
  save();
}

export function clear() {
  state = { lines: [], key: null };
  save();
}

/** The checkout's idempotency key: made once, kept until success or a change of the cart. */
export function checkoutKey() {
  if (!state.key) {
    state.key = newKey();
    save();
  }
  return state.key;
}

/** The estimated total (the server's total is the one that counts): {amount, currency}. */
export function estimate() {
  let amount = 0;
  let currency = '';
  for (const line of state.lines) {
    const price = Number.parseFloat(line.price && line.price.amount);
    if (Number.isFinite(price)) amount += price * line.qty;
    currency = currency || (line.price && line.price.currency) || '';
  }
  return { amount: Math.round(amount * 100) / 100, currency };
}
