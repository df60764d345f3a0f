// Balance: the balance, next charge, bonus points, plan, a bar chart of charges and top-ups
// by month, the transactions, and the top-up form.

import { h } from './dom.js';
import { currentLanguage, serverMessage, t } from './i18n.js';
import { haptic, openInvoice, openLink, openTelegramLink } from './telegram.js';

function cssVar(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

/** The bar chart (Chart.js, vendored) of the months' charges and top-ups. */
function drawChart(canvas, months, previous) {
  if (previous) previous.destroy();
  const Chart = window.Chart;
  if (!Chart || months.length === 0) return null;
  const text = cssVar('--text') || '#000';
  const hint = cssVar('--hint') || '#888';
  const grid = cssVar('--separator') || 'rgba(128,128,128,.2)';
  const amount = (money) => Number.parseFloat(money.amount) || 0;
  return new Chart(canvas, {
    type: 'bar',
    data: {
      labels: months.map((m) => m.label),
      datasets: [
        {
          label: t('balance.charges'),
          data: months.map((m) => amount(m.charges)),
          displays: months.map((m) => m.charges.display),
          backgroundColor: cssVar('--negative') || '#e5533d',
          borderRadius: 4,
        },
        {
          label: t('balance.topups'),
          data: months.map((m) => amount(m.top_ups)),
          displays: months.map((m) => m.top_ups.display),
          backgroundColor: cssVar('--positive') || '#31b545',
          borderRadius: 4,
        },
      ],
    },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      locale: currentLanguage(),
      plugins: {
        legend: { labels: { color: text, boxWidth: 12 } },
        tooltip: {
          callbacks: {
            label: (item) => `${item.dataset.label}: ${item.dataset.displays[item.dataIndex]}`,
          },
        },
      },
      scales: {
        x: { ticks: { color: hint }, grid: { display: false } },
        y: { beginAtZero: true, ticks: { color: hint, maxTicksLimit: 5 }, grid: { color: grid } },
      },
    },
  });
}

function row(label, value, attrs = {}) {
  return h('div', { class: 'kv' }, h('span', { class: 'hint' }, label), h('span', attrs, value));
}

function topUpForm(ctx) {
  const input = h('input', {
    type: 'text',
    inputmode: 'decimal',
    autocomplete: 'off',
    placeholder: '5000',
    'aria-label': t('topup.amount'),
    data: { 'topup-amount': true },
  });
  const result = h('div', { class: 'result', 'aria-live': 'polite', data: { 'topup-result': true } });
  const button = h('button', { type: 'submit', class: 'button', data: { action: 'topup' } }, t('topup.button'));
  const form = h(
    'form',
    { class: 'card topup', novalidate: true },
    h('h2', {}, t('topup.title')),
    h('div', { class: 'inline' }, input, button),
    result,
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const amount = input.value.trim().replace(/\s+/g, '').replace(',', '.');
    result.replaceChildren();
    if (!/^\d+(\.\d{1,2})?$/.test(amount)) {
      result.append(ctx.errorBox(amount ? t('topup.invalid') : t('topup.empty')));
      return;
    }
    button.disabled = true;
    ctx.busy();
    try {
      const answer = await ctx.api('balance/top-up', { method: 'POST', body: { amount } });
      if (answer.via === 'link' && typeof answer.url === 'string' && /^https:\/\//.test(answer.url)) {
        const link = h('a', { href: answer.url, target: '_blank', rel: 'noopener', class: 'button secondary' }, t('topup.link'));
        link.addEventListener('click', (e) => {
          e.preventDefault();
          if (openInvoice(answer.url, (status) => haptic(status === 'paid' ? 'success' : 'warning'))) return;
          if (/^https:\/\/t\.me\//.test(answer.url)) openTelegramLink(answer.url);
          else openLink(answer.url);
        });
        result.append(h('p', { class: 'notice ok', data: { via: 'link' } }, link));
      } else {
        result.append(h('p', { class: 'notice ok', data: { via: 'chat' } }, t('topup.chat')));
      }
      haptic('success');
    } catch (error) {
      if (ctx.fatal(error)) return;
      haptic('error');
      result.append(ctx.errorBox(error.code === 'invalid_amount' ? serverMessage(error) || t('topup.invalid') : error));
    } finally {
      button.disabled = false;
      ctx.done();
    }
  });
  return form;
}

export default {
  title: () => t('balance.title'),
  async load(ctx) {
    const data = await ctx.api('balance');
    const canvas = h('canvas', { data: { chart: true }, role: 'img', 'aria-label': t('balance.chart') });
    const summary = h(
      'div',
      { class: 'card hero' },
      h('p', { class: 'hint' }, t('balance.title')),
      h('p', { class: 'big', data: { balance: true } }, data.balance.display),
      data.paused ? h('p', { class: 'badge-line warn' }, t('balance.paused')) : null,
      data.next_charge
        ? row(t('balance.next'), `${data.next_charge.date.display} · ${data.next_charge.amount.display}`, { data: { 'next-charge': true } })
        : null,
      row(t('balance.bonus'), String(data.bonus_points ?? 0), { data: { bonus: true } }),
      data.tariff
        ? row(t('balance.tariff'), `${data.tariff.name} · ${t('balance.fee', { fee: data.tariff.monthly_fee.display })}`, { data: { tariff: true } })
        : null,
    );
    const chartCard = data.months.length
      ? h('div', { class: 'card' }, h('h2', {}, t('balance.chart')), h('div', { class: 'chart-box' }, canvas))
      : null;
    const list = data.transactions.length
      ? h(
          'ul',
          { class: 'list' },
          data.transactions.map((tx) =>
            h(
              'li',
              { class: 'row', data: { transaction: true, kind: tx.kind } },
              h('div', { class: 'grow' }, h('div', {}, tx.title), h('div', { class: 'hint small' }, tx.at.display)),
              h('div', { class: Number.parseFloat(tx.amount.amount) < 0 ? 'amount negative' : 'amount positive' }, tx.amount.display),
            ),
          ),
        )
      : h('p', { class: 'hint' }, t('balance.empty'));
    ctx.root.replaceChildren(summary, topUpForm(ctx), chartCard || '', h('div', { class: 'card' }, h('h2', {}, t('balance.history')), list));
    let chart = drawChart(canvas, data.months, null);
    return {
      onTheme() {
        chart = drawChart(canvas, data.months, chart);
      },
      leave() {
        if (chart) chart.destroy();
      },
    };
  },
};
