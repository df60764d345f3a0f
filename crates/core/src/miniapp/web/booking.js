// Booking: service → staff (the regular one first, and "anyone") → a calendar of the days
// with free times → the times → confirm. My appointments: move (a new time among the free
// ones of that service and staff member) and cancel.

import { h } from './dom.js';
import { currentLanguage, t } from './i18n.js';
import { newKey } from './api.js';
import { confirmAction, haptic } from './telegram.js';

const DAY_MS = 86_400_000;

/**
 * The business's calendar day and time of a slot. `at` is UTC; the server's `display`
 * ("15 января, 14:00" / "January 15, 14:00") is in the business's time, so its day of the
 * month picks the right day among the UTC day and its neighbours.
 */
export function localDayAndTime(start) {
  const at = new Date(start.at);
  const display = String(start.display || '');
  const comma = display.lastIndexOf(',');
  const datePart = comma === -1 ? display : display.slice(0, comma);
  const dayMatch = /(\d{1,2})/.exec(datePart);
  const timeMatch = /(\d{1,2}:\d{2})\s*$/.exec(display);
  let day = new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate()));
  if (dayMatch) {
    const wanted = Number(dayMatch[1]);
    for (const shift of [0, 1, -1]) {
      const candidate = new Date(day.getTime() + shift * DAY_MS);
      if (candidate.getUTCDate() === wanted) {
        day = candidate;
        break;
      }
    }
  }
  const time = timeMatch ? timeMatch[1] : at.toISOString().slice(11, 16);
  return { day: day.toISOString().slice(0, 10), time };
}

function section(title, ...children) {
  return h('div', { class: 'step' }, h('h3', {}, title), ...children);
}

/**
 * The calendar and times of `service` (with `staff`, or anyone): calls `onPick(slot)` (null
 * when the choice is undone). Renders into `box`; returns a function that reloads the slots.
 */
function slotPicker(ctx, box, { service, staff, staffOrder, onPick }) {
  const reload = async (notice) => {
    ctx.busy();
    onPick(null);
    box.replaceChildren(h('div', { class: 'screen-loading' }, h('div', { class: 'spinner', 'aria-hidden': 'true' })));
    try {
      const query = new URLSearchParams({ service });
      if (staff) query.set('staff', staff);
      const data = await ctx.api(`booking/slots?${query}`);
      render(data.slots || [], notice);
    } catch (error) {
      if (ctx.fatal(error)) return;
      box.replaceChildren(ctx.errorBox(error, () => reload()));
    } finally {
      ctx.done();
    }
  };

  const render = (slots, notice) => {
    // One button per start time: for "anyone", the earliest-listed staff member (the
    // regular one first) takes it.
    const rank = (id) => {
      const i = staffOrder.indexOf(id);
      return i === -1 ? staffOrder.length : i;
    };
    const byStart = new Map();
    for (const slot of slots) {
      const known = byStart.get(slot.start.at);
      if (!known || rank(slot.staff.id) < rank(known.staff.id)) byStart.set(slot.start.at, slot);
    }
    const days = new Map();
    for (const slot of [...byStart.values()].sort((a, b) => a.start.at.localeCompare(b.start.at))) {
      const { day, time } = localDayAndTime(slot.start);
      if (!days.has(day)) days.set(day, []);
      days.get(day).push({ ...slot, time });
    }
    box.replaceChildren();
    if (notice) box.append(notice);
    if (days.size === 0) {
      box.append(h('p', { class: 'hint', data: { 'no-slots': true } }, t('booking.no_slots')));
      return;
    }
    const times = h('div', { class: 'times' });
    const calendar = calendarGrid([...days.keys()], days, (day, button) => {
      for (const b of calendar.querySelectorAll('[data-day]')) b.classList.toggle('selected', b === button);
      onPick(null);
      times.replaceChildren(
        h('h3', {}, t('booking.time')),
        h(
          'div',
          { class: 'chips' },
          days.get(day).map((slot) => {
            const chip = h('button', { type: 'button', class: 'chip', data: { slot: slot.start.at, 'slot-staff': slot.staff.id } }, slot.time);
            chip.addEventListener('click', () => {
              for (const c of times.querySelectorAll('[data-slot]')) c.classList.toggle('selected', c === chip);
              haptic('selection');
              onPick(slot);
            });
            return chip;
          }),
        ),
      );
    });
    box.append(section(t('booking.day'), calendar), times);
  };

  reload();
  return reload;
}

/** A month-style grid (Monday first) from the first to the last day with free times. */
function calendarGrid(dayKeys, days, onDay) {
  const lang = currentLanguage();
  const first = new Date(`${dayKeys[0]}T00:00:00Z`);
  const last = new Date(`${dayKeys[dayKeys.length - 1]}T00:00:00Z`);
  const start = new Date(first.getTime() - ((first.getUTCDay() + 6) % 7) * DAY_MS);
  const end = new Date(last.getTime() + (6 - ((last.getUTCDay() + 6) % 7)) * DAY_MS);
  const weekday = new Intl.DateTimeFormat(lang, { weekday: 'short', timeZone: 'UTC' });
  const month = new Intl.DateTimeFormat(lang, { month: 'long', timeZone: 'UTC' });
  const full = new Intl.DateTimeFormat(lang, { weekday: 'long', day: 'numeric', month: 'long', timeZone: 'UTC' });
  const monthName = (date) => month.format(date);
  const caption =
    first.getUTCMonth() === last.getUTCMonth()
      ? `${monthName(first)} ${first.getUTCFullYear()}`
      : `${monthName(first)} – ${monthName(last)} ${last.getUTCFullYear()}`;
  const grid = h('div', { class: 'calendar', role: 'grid', 'aria-label': caption });
  for (let i = 0; i < 7; i++) {
    grid.append(h('div', { class: 'weekday' }, weekday.format(new Date(Date.UTC(2024, 0, 1 + i)))));
  }
  for (let at = start.getTime(); at <= end.getTime(); at += DAY_MS) {
    const date = new Date(at);
    const key = date.toISOString().slice(0, 10);
    const n = date.getUTCDate();
    const label = String(n);
    const monthMark = n === 1 && at !== start.getTime() ? h('span', { class: 'mon' }, monthName(date).slice(0, 3)) : null;
    if (days.has(key)) {
      const button = h(
        'button',
        { type: 'button', class: 'day free', data: { day: key }, 'aria-label': full.format(date) },
        h('span', {}, label),
        monthMark,
        h('span', { class: 'dot', 'aria-hidden': 'true' }),
      );
      button.addEventListener('click', () => {
        haptic('selection');
        onDay(key, button);
      });
      grid.append(button);
    } else {
      const outside = at < first.getTime() || at > last.getTime();
      grid.append(h('div', { class: 'day off', 'aria-hidden': 'true' }, outside ? '' : label, outside ? null : monthMark));
    }
  }
  return h('div', {}, h('p', { class: 'month' }, caption), grid);
}

function appointmentText(a) {
  return `${a.service.name} · ${a.staff.name}`;
}

export default {
  title: () => t('booking.title'),
  async load(ctx) {
    const [catalogue, mine] = await Promise.all([ctx.api('booking/services'), ctx.api('booking/appointments')]);
    const services = catalogue.services || [];
    const staffAll = catalogue.staff || [];
    const staffOrder = staffAll.map((s) => s.id);
    const picker = h('div', { class: 'card', data: { picker: true } });
    const mineList = h('ul', { class: 'list' });
    const mineCard = h('div', { class: 'card' }, h('h2', {}, t('booking.mine')), mineList);
    ctx.root.replaceChildren(picker, mineCard);

    // --- a new appointment ---
    const choice = { service: null, staff: null, slot: null, key: null };

    const confirmButton = h('button', { type: 'button', class: 'button', data: { action: 'confirm-booking' }, hidden: true }, t('booking.confirm'));
    const result = h('div', { 'aria-live': 'polite' });

    const pick = (slot) => {
      choice.slot = slot;
      choice.key = slot ? newKey() : null;
      confirmButton.hidden = !slot;
      if (slot) {
        confirmButton.textContent = `${t('booking.confirm')}: ${slot.start.display}`;
        ctx.mainButton(t('booking.confirm'), confirm);
      } else {
        ctx.mainButton(null, null);
      }
    };

    const confirm = async () => {
      if (!choice.slot || confirmButton.disabled) return;
      const slot = choice.slot;
      confirmButton.disabled = true;
      ctx.mainButtonProgress(true);
      ctx.busy();
      result.replaceChildren();
      try {
        const booked = await ctx.api('booking/appointments', {
          method: 'POST',
          body: { service: choice.service.code, staff: slot.staff.id, start: slot.start.at, key: choice.key },
        });
        haptic('success');
        ctx.mainButton(null, null);
        stepDone(booked);
        await refreshMine();
      } catch (error) {
        if (ctx.fatal(error)) return;
        haptic('error');
        if (error.code === 'slot_taken') {
          reloadSlots(ctx.errorBox(t('booking.slot_taken')));
        } else {
          result.append(ctx.errorBox(error));
        }
      } finally {
        confirmButton.disabled = false;
        ctx.mainButtonProgress(false);
        ctx.done();
      }
    };
    confirmButton.addEventListener('click', confirm);

    let reloadSlots = () => {};

    const stepService = () => {
      choice.service = choice.staff = null;
      pick(null);
      ctx.localBack(null);
      picker.replaceChildren(
        h('h2', {}, t('booking.service')),
        h(
          'ul',
          { class: 'list' },
          services.map((s) =>
            h(
              'li',
              {},
              h(
                'button',
                { type: 'button', class: 'row clickable', data: { service: s.code }, onclick: () => stepStaff(s) },
                h('div', { class: 'grow' }, h('div', { class: 'strong' }, s.name), h('div', { class: 'hint small' }, t('booking.minutes', { n: s.duration_min }))),
                h('div', { class: 'amount' }, s.price.display),
              ),
            ),
          ),
        ),
      );
    };

    const stepStaff = (service) => {
      choice.service = service;
      choice.staff = null;
      pick(null);
      ctx.localBack(stepService);
      const staff = staffAll.filter((s) => (s.services || []).includes(service.code));
      picker.replaceChildren(
        h('h2', {}, service.name),
        h('p', { class: 'hint' }, `${t('booking.minutes', { n: service.duration_min })} · ${service.price.display}`),
        section(
          t('booking.staff'),
          h(
            'div',
            { class: 'chips' },
            staff.map((s) =>
              h(
                'button',
                { type: 'button', class: s.regular ? 'chip regular' : 'chip', data: { staff: s.id }, onclick: () => stepSlots(service, s) },
                s.name,
                s.regular ? h('span', { class: 'tag' }, t('booking.regular')) : null,
              ),
            ),
            h('button', { type: 'button', class: 'chip', data: { staff: 'any' }, onclick: () => stepSlots(service, null) }, t('booking.any')),
          ),
        ),
      );
    };

    const stepSlots = (service, staff) => {
      choice.staff = staff;
      haptic('selection');
      ctx.localBack(() => stepStaff(service));
      const box = h('div', {});
      picker.replaceChildren(
        h('h2', {}, service.name),
        h('p', { class: 'hint' }, staff ? staff.name : t('booking.any')),
        box,
        h('div', { class: 'actions' }, confirmButton),
        result,
      );
      reloadSlots = slotPicker(ctx, box, { service: service.code, staff: staff && staff.id, staffOrder, onPick: pick });
    };

    const stepDone = (a) => {
      ctx.localBack(null);
      picker.replaceChildren(
        h(
          'div',
          { class: 'notice ok', data: { booked: a.id } },
          h('p', {}, t('booking.booked', { service: a.service.name, staff: a.staff.name, time: a.start.display })),
        ),
        h('button', { type: 'button', class: 'button secondary', data: { action: 'book-again' }, onclick: stepService }, t('booking.again')),
      );
    };

    // --- my appointments ---
    const renderMine = (list) => {
      mineList.replaceChildren();
      if (list.length === 0) {
        mineList.append(h('li', { class: 'hint' }, t('booking.none')));
        return;
      }
      for (const a of list) mineList.append(appointmentRow(a));
    };

    const refreshMine = async () => {
      try {
        const fresh = await ctx.api('booking/appointments');
        if (ctx.current()) renderMine(fresh.appointments || []);
      } catch (error) {
        if (!ctx.fatal(error)) mineList.prepend(h('li', {}, ctx.errorBox(error)));
      }
    };

    const appointmentRow = (a) => {
      const note = h('div', { class: 'row-note', 'aria-live': 'polite' });
      const cancelled = a.status === 'cancelled';
      const cancel = h('button', { type: 'button', class: 'button small danger', data: { action: 'cancel' } }, t('booking.cancel'));
      const move = h('button', { type: 'button', class: 'button small secondary', data: { action: 'move' } }, t('booking.move'));
      const li = h(
        'li',
        { class: cancelled ? 'row wrap cancelled' : 'row wrap', data: { appointment: a.id, status: a.status } },
        h('div', { class: 'grow' }, h('div', { class: 'strong' }, a.start.display), h('div', { class: 'hint small' }, appointmentText(a))),
        cancelled ? h('span', { class: 'status status-cancelled' }, t('booking.status_cancelled')) : h('div', { class: 'buttons' }, move, cancel),
        note,
      );
      cancel.addEventListener('click', async () => {
        if (!(await confirmAction(t('booking.cancel_ask', { service: a.service.name, time: a.start.display })))) return;
        cancel.disabled = move.disabled = true;
        ctx.busy();
        note.replaceChildren();
        try {
          const done = await ctx.api(`booking/appointments/${encodeURIComponent(a.id)}/cancel`, { method: 'POST', body: {} });
          haptic('success');
          const row = appointmentRow(done);
          row.querySelector('.row-note').append(h('p', { class: 'notice ok', data: { cancelled: done.id } }, t('booking.cancelled')));
          li.replaceWith(row);
        } catch (error) {
          if (ctx.fatal(error)) return;
          haptic('error');
          note.append(ctx.errorBox(error.code === 'too_late' ? t('booking.too_late') : error.code === 'already_cancelled' ? t('booking.cancelled') : error));
        } finally {
          cancel.disabled = move.disabled = false;
          ctx.done();
        }
      });
      move.addEventListener('click', () => startMove(a));
      return li;
    };

    const startMove = (a) => {
      const staff = staffAll.find((s) => s.id === a.staff.id);
      const moveButton = h('button', { type: 'button', class: 'button', data: { action: 'confirm-move' }, hidden: true }, t('booking.move_confirm'));
      const moveResult = h('div', { 'aria-live': 'polite' });
      const box = h('div', {});
      let chosen = null;
      const close = () => {
        ctx.mainButton(null, null);
        stepService();
      };
      const onPick = (slot) => {
        chosen = slot;
        moveButton.hidden = !slot;
        if (slot) {
          moveButton.textContent = `${t('booking.move_confirm')}: ${slot.start.display}`;
          ctx.mainButton(t('booking.move_confirm'), submit);
        } else {
          ctx.mainButton(null, null);
        }
      };
      const submit = async () => {
        if (!chosen || moveButton.disabled) return;
        moveButton.disabled = true;
        ctx.mainButtonProgress(true);
        ctx.busy();
        moveResult.replaceChildren();
        try {
          const moved = await ctx.api(`booking/appointments/${encodeURIComponent(a.id)}/move`, {
            method: 'POST',
            body: { start: chosen.start.at },
          });
          haptic('success');
          ctx.mainButton(null, null);
          ctx.localBack(null);
          picker.replaceChildren(
            h('div', { class: 'notice ok', data: { moved: moved.id } }, h('p', {}, t('booking.moved', { time: moved.start.display }))),
            h('button', { type: 'button', class: 'button secondary', data: { action: 'book-again' }, onclick: stepService }, t('booking.again')),
          );
          await refreshMine();
        } catch (error) {
          if (ctx.fatal(error)) return;
          haptic('error');
          if (error.code === 'slot_taken') reload(ctx.errorBox(t('booking.slot_taken')));
          else moveResult.append(ctx.errorBox(error.code === 'too_late' ? t('booking.too_late') : error));
        } finally {
          moveButton.disabled = false;
          ctx.mainButtonProgress(false);
          ctx.done();
        }
      };
      moveButton.addEventListener('click', submit);
      ctx.localBack(close);
      picker.replaceChildren(
        h('h2', {}, t('booking.move_title', { service: a.service.name, staff: a.staff.name })),
        h('p', { class: 'hint' }, a.start.display),
        box,
        h(
          'div',
          { class: 'actions' },
          moveButton,
          h('button', { type: 'button', class: 'button secondary', data: { action: 'close-move' }, onclick: close }, t('booking.close')),
        ),
        moveResult,
      );
      picker.scrollIntoView({ block: 'start' });
      const reload = slotPicker(ctx, box, {
        service: a.service.code,
        staff: staff ? staff.id : a.staff.id,
        staffOrder,
        onPick,
      });
    };

    stepService();
    renderMine(mine.appointments || []);
    return null;
  },
};
