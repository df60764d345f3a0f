// Catalogue (categories, search, add to cart, quantity ±) and the cart (checkout with an
// idempotency key kept until the order is placed).

import { h } from './dom.js';
import { currentLanguage, serverMessage, t } from './i18n.js';
import { haptic } from './telegram.js';
import * as cart from './cart.js';

const SEARCH_DELAY_MS = 300;

function quantityControl(product, onChange) {
  const box = h('div', { class: 'qty' });
  const render = () => {
    const n = cart.qty(product.sku);
    const add = h(
      'button',
      { type: 'button', class: n ? 'button small round' : 'button small', data: { action: 'add' }, disabled: !product.available || (Number.isInteger(product.in_stock) && product.in_stock > 0 && n >= product.in_stock), 'aria-label': t('shop.add') },
      n ? '+' : t('shop.add'),
    );
    add.addEventListener('click', () => {
      cart.add(product);
      haptic('selection');
      render();
      onChange();
    });
    if (n === 0) {
      box.replaceChildren(add);
      return;
    }
    const less = h('button', { type: 'button', class: 'button small round secondary', data: { action: 'less' }, 'aria-label': t('shop.less') }, '−');
    less.addEventListener('click', () => {
      cart.set(product.sku, n - 1);
      haptic('selection');
      render();
      onChange();
    });
    box.replaceChildren(less, h('span', { class: 'count', data: { qty: n } }, String(n)), add);
  };
  render();
  return box;
}

function productCard(p) {
  const stock = p.available
    ? h('span', { class: 'hint small' }, t('shop.in_stock', { n: p.in_stock }))
    : h('span', { class: 'hint small warn' }, t('shop.out_of_stock'));
  return h(
    'li',
    { class: p.available ? 'product' : 'product unavailable', data: { product: p.sku } },
    h('div', { class: 'grow' }, h('div', { class: 'strong' }, p.name), p.category ? h('div', { class: 'hint small' }, p.category.name) : null, stock),
    h('div', { class: 'end' }, h('div', { class: 'amount' }, p.price.display), quantityControl(p, () => {})),
  );
}

export const catalogue = {
  title: () => t('shop.title'),
  async load(ctx) {
    const filter = { q: '', category: '' };
    const query = () => {
      const params = new URLSearchParams();
      if (filter.q) params.set('q', filter.q);
      if (filter.category) params.set('category', filter.category);
      const s = params.toString();
      return s ? `shop/catalogue?${s}` : 'shop/catalogue';
    };
    const first = await ctx.api(query());
    const search = h('input', {
      type: 'search',
      class: 'search',
      placeholder: t('shop.search'),
      'aria-label': t('shop.search'),
      autocomplete: 'off',
      enterkeyhint: 'search',
      data: { search: true },
    });
    const chips = h('div', { class: 'chips scroll' });
    const list = h('ul', { class: 'list products' });
    const status = h('div', {});
    let generation = 0;

    const renderChips = (categories) => {
      const all = h('button', { type: 'button', class: filter.category ? 'chip' : 'chip selected', data: { 'category-all': true } }, t('shop.all'));
      all.addEventListener('click', () => {
        filter.category = '';
        refresh();
      });
      chips.replaceChildren(
        all,
        ...categories.map((c) => {
          const chip = h('button', { type: 'button', class: filter.category === c.code ? 'chip selected' : 'chip', data: { category: c.code } }, c.name);
          chip.addEventListener('click', () => {
            filter.category = filter.category === c.code ? '' : c.code;
            haptic('selection');
            refresh();
          });
          return chip;
        }),
      );
    };
    const renderProducts = (products) => {
      list.replaceChildren(...products.map(productCard));
      if (products.length === 0) list.append(h('li', { class: 'hint', data: { empty: true } }, t('shop.empty')));
    };
    const refresh = async () => {
      const mine = ++generation;
      ctx.busy();
      status.replaceChildren();
      for (const chip of chips.querySelectorAll('.chip')) {
        chip.classList.toggle('selected', (chip.dataset.category ?? '') === filter.category);
      }
      try {
        const data = await ctx.api(query());
        if (mine !== generation || !ctx.current()) return;
        renderChips(data.categories || []);
        renderProducts(data.products || []);
      } catch (error) {
        if (mine !== generation || ctx.fatal(error)) return;
        status.replaceChildren(ctx.errorBox(error, refresh));
      } finally {
        if (mine === generation) ctx.done();
      }
    };
    let timer = null;
    search.addEventListener('input', () => {
      clearTimeout(timer);
      ctx.busy();
      timer = setTimeout(() => {
        filter.q = search.value.trim().slice(0, 100);
        refresh();
      }, SEARCH_DELAY_MS);
    });
    search.addEventListener('keydown', (event) => {
      if (event.key !== 'Enter') return;
      event.preventDefault();
      clearTimeout(timer);
      filter.q = search.value.trim().slice(0, 100);
      refresh();
    });
    renderChips(first.categories || []);
    renderProducts(first.products || []);
    ctx.root.replaceChildren(h('div', { class: 'toolbar' }, search, chips), status, h('div', { class: 'card flush' }, list));
    return {
      leave() {
        clearTimeout(timer);
      },
    };
  },
};

function formatEstimate({ amount, currency }) {
  try {
    return new Intl.NumberFormat(currentLanguage(), { style: 'currency', currency, currencyDisplay: 'narrowSymbol', minimumFractionDigits: 0, maximumFractionDigits: 2 }).format(amount);
  } catch {
    return String(amount);
  }
}

export const cartScreen = {
  title: () => t('cart.title'),
  async load(ctx, params) {
    const result = h('div', { 'aria-live': 'polite' });
    const body = h('div', {});
    const button = h('button', { type: 'button', class: 'button', data: { action: 'checkout' } }, t('cart.checkout'));
    let outOfStock = [];

    const checkout = async () => {
      if (button.disabled || cart.count() === 0) return;
      button.disabled = true;
      ctx.mainButtonProgress(true);
      ctx.busy();
      result.replaceChildren();
      const lines = cart.lines().map((l) => ({ sku: l.sku, qty: l.qty }));
      try {
        const placed = await ctx.api('shop/checkout', { method: 'POST', body: { lines, key: cart.checkoutKey() } });
        cart.clear();
        outOfStock = [];
        haptic('success');
        render();
        const text = t(placed.new === false ? 'cart.ordered_before' : 'cart.ordered', { number: placed.number, total: placed.total.display });
        result.replaceChildren(h('div', { class: 'notice ok', data: { 'order-number': placed.number } }, h('p', {}, text)));
      } catch (error) {
        if (ctx.fatal(error)) return;
        haptic('error');
        if (error.code === 'out_of_stock') {
          outOfStock = Array.isArray(error.body.skus) ? error.body.skus : [];
          render();
          const names = cart.lines().filter((l) => outOfStock.includes(l.sku)).map((l) => l.name);
          result.replaceChildren(ctx.errorBox(serverMessage(error) || t('cart.out_of_stock', { names: names.join(', ') || '—' })));
        } else if (error.code === 'invalid_order') {
          result.replaceChildren(ctx.errorBox(t('cart.invalid')));
        } else {
          result.replaceChildren(ctx.errorBox(error));
        }
      } finally {
        button.disabled = false;
        ctx.mainButtonProgress(false);
        ctx.done();
      }
    };
    button.addEventListener('click', checkout);

    const render = () => {
      const lines = cart.lines();
      if (lines.length === 0) {
        ctx.mainButton(null, null);
        body.replaceChildren(
          h('div', { class: 'card' }, h('p', { class: 'hint' }, t('cart.empty')), ctx.me.capabilities.shop
            ? h('button', { type: 'button', class: 'button secondary', data: { action: 'to-catalogue' }, onclick: () => ctx.navigate('catalogue') }, t('cart.to_catalogue'))
            : null),
        );
        return;
      }
      const list = h(
        'ul',
        { class: 'list' },
        lines.map((line) => {
          const short = outOfStock.includes(line.sku);
          const set = (n) => {
            cart.set(line.sku, n);
            outOfStock = outOfStock.filter((s) => s !== line.sku);
            result.replaceChildren();
            render();
          };
          return h(
            'li',
            { class: short ? 'row wrap short' : 'row wrap', data: { 'cart-line': line.sku } },
            h(
              'div',
              { class: 'grow' },
              h('div', { class: 'strong' }, line.name),
              h('div', { class: 'hint small' }, line.price ? line.price.display : ''),
              short ? h('div', { class: 'small warn' }, t('cart.unavailable')) : null,
            ),
            h(
              'div',
              { class: 'qty' },
              h('button', { type: 'button', class: 'button small round secondary', data: { action: 'less' }, onclick: () => set(line.qty - 1), 'aria-label': t('shop.less') }, '−'),
              h('span', { class: 'count', data: { qty: line.qty } }, String(line.qty)),
              h(
                'button',
                {
                  type: 'button',
                  class: 'button small round',
                  data: { action: 'more' },
                  disabled: Number.isInteger(line.in_stock) && line.in_stock > 0 && line.qty >= line.in_stock,
                  onclick: () => set(line.qty + 1),
                  'aria-label': t('shop.more'),
                },
                '+',
              ),
              h('button', { type: 'button', class: 'link small', data: { action: 'remove' }, onclick: () => set(0) }, t('cart.remove')),
            ),
          );
        }),
      );
      const estimate = cart.estimate();
      body.replaceChildren(
        h(
          'div',
          { class: 'card' },
          list,
          estimate.currency ? h('div', { class: 'kv total' }, h('span', { class: 'hint' }, t('cart.estimate')), h('strong', {}, formatEstimate(estimate))) : null,
          h('div', { class: 'actions' }, button),
        ),
      );
      ctx.mainButton(t('cart.checkout'), checkout);
    };

    render();
    const note = params && params.note ? h('div', { class: 'notice warn' }, h('p', {}, params.note)) : null;
    ctx.root.replaceChildren(...[note, result, body].filter(Boolean));
    return null;
  },
};
