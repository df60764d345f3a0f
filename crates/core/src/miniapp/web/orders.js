// Orders: the history (paged), one order's details, «Повторить» → the cart.

import { h } from './dom.js';
import { t } from './i18n.js';
import { openLink, haptic } from './telegram.js';
import * as cart from './cart.js';

function statusBadge(status) {
  return h('span', { class: `status status-${String(status.code).replace(/[^a-z_]/g, '')}`, data: { status: status.code } }, status.display);
}

function orderRow(ctx, o) {
  return h(
    'li',
    {},
    h(
      'button',
      { type: 'button', class: 'row clickable', data: { order: o.number }, onclick: () => ctx.navigate('order', { number: o.number }) },
      h('div', { class: 'grow' }, h('div', { class: 'strong' }, t('order.title', { number: o.number })), h('div', { class: 'hint small' }, o.created.display)),
      h('div', { class: 'end' }, h('div', { class: 'amount' }, o.total.display), statusBadge(o.status)),
    ),
  );
}

export const orders = {
  title: () => t('orders.title'),
  async load(ctx) {
    const first = await ctx.api('orders?page=0');
    if (first.orders.length === 0) {
      ctx.root.replaceChildren(h('div', { class: 'card' }, h('p', { class: 'hint' }, t('orders.empty'))));
      return null;
    }
    const list = h('ul', { class: 'list' }, first.orders.map((o) => orderRow(ctx, o)));
    const card = h('div', { class: 'card' }, list);
    let page = 0;
    let shown = first.orders.length;
    const more = h('button', { type: 'button', class: 'button secondary', data: { action: 'more' } }, t('common.more'));
    const moreBox = h('div', { class: 'more' });
    more.addEventListener('click', async () => {
      more.disabled = true;
      ctx.busy();
      try {
        const next = await ctx.api(`orders?page=${page + 1}`);
        page += 1;
        shown += next.orders.length;
        for (const o of next.orders) list.append(orderRow(ctx, o));
        if (shown >= next.total || next.orders.length === 0) more.remove();
        moreBox.querySelector('[data-error]')?.remove();
      } catch (error) {
        if (ctx.fatal(error)) return;
        moreBox.prepend(ctx.errorBox(error));
      } finally {
        more.disabled = false;
        ctx.done();
      }
    });
    if (shown < first.total) moreBox.append(more);
    card.append(moreBox);
    ctx.root.replaceChildren(card);
    return null;
  },
};

function kv(label, ...value) {
  return h('div', { class: 'kv' }, h('span', { class: 'hint' }, label), h('span', {}, ...value));
}

async function repeat(ctx, number, button, box) {
  button.disabled = true;
  ctx.busy();
  box.replaceChildren();
  try {
    const answer = await ctx.api(`orders/${encodeURIComponent(number)}/repeat`);
    const lines = Array.isArray(answer.lines) ? answer.lines : [];
    const usable = lines.filter((l) => l.available && l.qty > 0);
    const missing = lines.filter((l) => !l.available);
    if (usable.length === 0) {
      box.append(ctx.errorBox(t('order.repeat_none')));
      haptic('warning');
      return;
    }
    for (const line of usable) cart.add({ sku: line.sku, name: line.name, price: line.price }, line.qty);
    haptic('success');
    ctx.navigate('cart', { note: missing.length ? t('order.repeat_some', { names: missing.map((l) => l.name).join(', ') }) : '' });
  } catch (error) {
    if (ctx.fatal(error)) return;
    box.append(ctx.errorBox(error));
  } finally {
    button.disabled = false;
    ctx.done();
  }
}

export const order = {
  title: (params) => t('order.title', { number: params.number }),
  async load(ctx, params) {
    const o = await ctx.api(`orders/${encodeURIComponent(params.number)}`);
    const items = h(
      'ul',
      { class: 'list' },
      o.items.map((item) =>
        h(
          'li',
          { class: 'row', data: { item: item.sku } },
          h('div', { class: 'grow' }, item.name),
          h('div', { class: 'hint nowrap' }, `${item.qty} × ${item.price.display}`),
        ),
      ),
    );
    const parts = [
      h(
        'div',
        { class: 'card' },
        kv(t('order.status'), statusBadge(o.status)),
        kv(t('order.created'), o.created.display),
        o.delivered_at ? kv(t('order.delivered'), o.delivered_at.display) : null,
        kv(t('order.total'), h('strong', {}, o.total.display)),
      ),
      h('div', { class: 'card' }, h('h2', {}, t('order.items')), items),
    ];
    const d = o.delivery;
    if (d) {
      const map =
        typeof d.map_url === 'string' && /^https:\/\//.test(d.map_url)
          ? h('a', { href: d.map_url, target: '_blank', rel: 'noopener', class: 'button secondary', data: { map: true } }, t('order.map'))
          : null;
      if (map) {
        map.addEventListener('click', (event) => {
          event.preventDefault();
          openLink(d.map_url);
        });
      }
      parts.push(
        h(
          'div',
          { class: 'card' },
          h('h2', {}, t('order.delivery')),
          d.address ? kv(t('order.address'), d.address) : null,
          d.carrier ? kv(t('order.carrier'), d.carrier) : null,
          d.tracking ? kv(t('order.tracking'), h('span', { class: 'mono', data: { tracking: true } }, d.tracking)) : null,
          d.window ? kv(t('order.window'), h('span', { data: { window: true } }, d.window.display)) : null,
          d.courier ? kv(t('order.courier'), [d.courier.name, d.courier.phone].filter(Boolean).join(', ')) : null,
          d.note ? kv(t('order.note'), d.note) : null,
          map,
        ),
      );
    }
    if (ctx.me.capabilities && ctx.me.capabilities.shop) {
      const box = h('div', {});
      const button = h('button', { type: 'button', class: 'button', data: { action: 'repeat' } }, t('order.repeat'));
      button.addEventListener('click', () => repeat(ctx, o.number, button, box));
      parts.push(h('div', { class: 'card' }, button, box));
    }
    ctx.root.replaceChildren(...parts);
    return null;
  },
};
