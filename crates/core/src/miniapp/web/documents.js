// Documents: grouped by kind, each with its period; the PDF is fetched with the init data
// (a plain link could not carry it) and saved from a Blob.

import { h } from './dom.js';
import { t } from './i18n.js';
import { download } from './api.js';
import { haptic } from './telegram.js';

const KIND_ORDER = ['contract', 'invoice', 'act', 'reconciliation', 'receipt'];

function kindLabel(kind) {
  const key = `kind.${kind}`;
  const text = t(key);
  return text === key ? t('kind.other') : text;
}

async function save(ctx, doc, link, box) {
  if (link.dataset.busy) return;
  link.dataset.busy = '1';
  link.classList.add('loading');
  ctx.busy();
  box.replaceChildren();
  try {
    const { blob, name } = await download(doc.pdf_url);
    const url = URL.createObjectURL(blob);
    const a = h('a', { href: url, download: name, hidden: true });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
    link.dataset.downloaded = name;
    haptic('success');
  } catch (error) {
    if (ctx.fatal(error)) return;
    box.append(ctx.errorBox(error.status === 404 || error.status === 503 || error.code === 'network' ? error : t('documents.failed')));
  } finally {
    delete link.dataset.busy;
    link.classList.remove('loading');
    ctx.done();
  }
}

export default {
  title: () => t('documents.title'),
  async load(ctx) {
    const data = await ctx.api('documents');
    if (data.documents.length === 0) {
      ctx.root.replaceChildren(h('div', { class: 'card' }, h('p', { class: 'hint' }, t('documents.empty'))));
      return null;
    }
    const groups = new Map();
    for (const doc of data.documents) {
      const kind = KIND_ORDER.includes(doc.kind) || t(`kind.${doc.kind}`) !== `kind.${doc.kind}` ? doc.kind : 'other';
      if (!groups.has(kind)) groups.set(kind, []);
      groups.get(kind).push(doc);
    }
    const kinds = [...groups.keys()].sort((a, b) => rank(a) - rank(b));
    const cards = kinds.map((kind) =>
      h(
        'div',
        { class: 'card', data: { kind } },
        h('h2', {}, kindLabel(kind)),
        h(
          'ul',
          { class: 'list' },
          groups.get(kind).map((doc) => {
            const box = h('div', { class: 'row-note' });
            const link = h(
              'a',
              { href: doc.pdf_url, class: 'button small secondary', data: { download: true }, 'aria-label': `${t('documents.download')}: ${doc.title}` },
              'PDF',
            );
            link.addEventListener('click', (event) => {
              event.preventDefault();
              save(ctx, doc, link, box);
            });
            return h(
              'li',
              { class: 'row wrap', data: { document: doc.id } },
              h('div', { class: 'grow' }, h('div', {}, doc.title), h('div', { class: 'hint small' }, doc.period.display)),
              link,
              box,
            );
          }),
        ),
      ),
    );
    ctx.root.replaceChildren(...cards);
    return null;
  },
};

function rank(kind) {
  const i = KIND_ORDER.indexOf(kind);
  return i === -1 ? KIND_ORDER.length : i;
}
