// Settings: notification categories on/off, and the language (the page follows at once).

import { h } from './dom.js';
import { t } from './i18n.js';
import { haptic } from './telegram.js';

export default {
  title: () => t('settings.title'),
  async load(ctx) {
    const data = await ctx.api('settings');
    const status = h('div', { class: 'row-note', 'aria-live': 'polite' });

    const put = async (change, control, undo) => {
      control.disabled = true;
      ctx.busy();
      status.replaceChildren();
      try {
        const answer = await ctx.api('settings', { method: 'PUT', body: change });
        haptic('success');
        if (change.language) {
          // The labels come from the server in the new language: render it all again.
          ctx.relocalize(answer.language);
          ctx.title(t('settings.title'));
          render(answer);
        }
        status.replaceChildren(h('p', { class: 'hint small', data: { saved: true } }, t('settings.saved')));
      } catch (error) {
        undo();
        if (ctx.fatal(error)) return;
        haptic('error');
        status.replaceChildren(ctx.errorBox(error));
      } finally {
        control.disabled = false;
        ctx.done();
      }
    };

    const render = (settings) => {
      const profile = h(
        'div',
        { class: 'card' },
        h('h2', {}, t('settings.profile')),
        h('div', { class: 'strong' }, ctx.me.name || ctx.me.first_name || ''),
        ctx.me.phone ? h('div', { class: 'hint' }, ctx.me.phone) : null,
      );
      const toggles = settings.notifications.map((n) => {
        const input = h('input', { type: 'checkbox', role: 'switch', checked: n.on, data: { 'category-toggle': n.category } });
        input.addEventListener('change', () => {
          const on = input.checked;
          put({ notifications: { [n.category]: on } }, input, () => {
            input.checked = !on;
          });
        });
        return h('li', {}, h('label', { class: 'row toggle' }, h('span', { class: 'grow' }, n.label), input));
      });
      const select = h(
        'select',
        { data: { language: true }, 'aria-label': t('settings.language') },
        settings.languages.map((l) => h('option', { value: l.code, selected: l.code === settings.language }, l.label)),
      );
      select.value = settings.language;
      select.addEventListener('change', () => {
        const previous = settings.language;
        put({ language: select.value }, select, () => {
          select.value = previous;
        });
      });
      ctx.root.replaceChildren(
        profile,
        h('div', { class: 'card' }, h('h2', {}, t('settings.notifications')), h('ul', { class: 'list' }, toggles)),
        h('div', { class: 'card' }, h('h2', {}, t('settings.language')), select),
        status,
      );
    };

    render(data);
    return null;
  },
};
