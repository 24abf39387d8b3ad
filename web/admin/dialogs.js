// Modal dialogs of the dashboard, on the page's one native <dialog> (focus trapped, Escape
// cancels): a small form builder for actions that need input (move, remove, permissions, invite,
// message, create), confirmations, and the invite link with a Copy button.

import { h } from './dom.js';

const dialog = () => document.getElementById('dialog');

/**
 * Shows a form; resolves to { name: value } on submit, null on cancel. Fields:
 * { name, label, type: 'text' | 'number' | 'checkbox' | 'select' | 'checkboxes', value, options
 * (select: [[value, label]]; checkboxes: [[value, label]]), required, hint, placeholder, list }.
 */
export function openForm({ title, text = null, fields = [], submit, danger = false }) {
  const el = dialog();
  const form = h('form', { method: 'dialog', class: 'dialog-form' },
    h('h2', { id: 'dialog-title', text: title }),
    text && h('p', { class: 'dialog-text', text }),
    fields.map(field),
    h('div', { class: 'dialog-actions' },
      h('button', { type: 'submit', value: 'cancel', class: 'secondary', formnovalidate: true, text: 'Cancel' }),
      h('button', { type: 'submit', value: 'ok', class: danger ? 'danger' : null, text: submit })));
  el.replaceChildren(form);
  el.setAttribute('aria-labelledby', 'dialog-title');
  el.returnValue = '';
  return new Promise((resolve) => {
    el.addEventListener('close', () => {
      if (el.returnValue !== 'ok') return resolve(null);
      const values = {};
      for (const f of fields) values[f.name] = read(form, f);
      resolve(values);
    }, { once: true });
    el.showModal();
  });
}

export async function confirmAction({ title, text, submit, danger = true }) {
  return (await openForm({ title, text, submit, danger })) !== null;
}

/** The invite link, selected, with Copy (clipboard) and Close. */
export function showLink({ title, url, note }) {
  const el = dialog();
  const input = h('input', { id: 'dialog-link', readonly: true, value: url, class: 'link', 'aria-describedby': 'dialog-note' });
  const status = h('span', { class: 'muted', role: 'status' });
  const copy = h('button', {
    type: 'button',
    text: 'Copy link',
    onclick: async () => {
      input.select();
      try {
        await navigator.clipboard.writeText(url);
        status.textContent = 'Copied';
      } catch {
        // No clipboard permission (plain http on another host): the text is selected for Ctrl+C.
        status.textContent = document.execCommand?.('copy') ? 'Copied' : 'Press Ctrl+C to copy';
      }
    },
  });
  el.replaceChildren(h('form', { method: 'dialog', class: 'dialog-form' },
    h('h2', { id: 'dialog-title', text: title }),
    h('label', { for: 'dialog-link', text: 'Join link' }),
    input,
    h('p', { id: 'dialog-note', class: 'muted', text: note }),
    h('div', { class: 'dialog-actions' }, status, copy, h('button', { type: 'submit', class: 'secondary', text: 'Close' }))));
  el.setAttribute('aria-labelledby', 'dialog-title');
  el.showModal();
  input.select();
}

function field(f) {
  const id = `field-${f.name}`;
  const hint = f.hint ? h('small', { id: `${id}-hint`, class: 'muted', text: f.hint }) : null;
  const described = hint ? `${id}-hint` : null;
  if (f.type === 'checkbox') {
    return h('div', { class: 'field check' },
      h('input', { id, name: f.name, type: 'checkbox', checked: !!f.value, 'aria-describedby': described }),
      h('label', { for: id, text: f.label }), hint);
  }
  if (f.type === 'checkboxes') {
    const chosen = new Set(f.value ?? []);
    return h('fieldset', { class: 'field', 'aria-describedby': described },
      h('legend', { text: f.label }),
      f.options.map(([value, label]) => h('label', { class: 'check' },
        h('input', { type: 'checkbox', name: f.name, value, checked: chosen.has(value) }), label)),
      hint);
  }
  if (f.type === 'select') {
    return h('div', { class: 'field' },
      h('label', { for: id, text: f.label }),
      h('select', { id, name: f.name, required: f.required, 'aria-describedby': described },
        f.options.map(([value, label]) => h('option', { value, selected: value === f.value, text: label }))),
      hint);
  }
  const list = f.list ? h('datalist', { id: `${id}-list` }, f.list.map((v) => h('option', { value: v }))) : null;
  return h('div', { class: 'field' },
    h('label', { for: id, text: f.label }),
    h('input', {
      id, name: f.name, type: f.type ?? 'text', value: f.value ?? '', required: f.required, placeholder: f.placeholder,
      min: f.min, max: f.max, pattern: f.pattern, list: list ? list.id : null, autocomplete: 'off', 'aria-describedby': described,
    }),
    list, hint);
}

function read(form, f) {
  if (f.type === 'checkbox') return form.elements[f.name].checked;
  if (f.type === 'checkboxes') return [...form.querySelectorAll(`input[name="${f.name}"]:checked`)].map((i) => i.value);
  const value = form.elements[f.name].value.trim();
  return f.type === 'number' ? (value === '' ? null : Number(value)) : value;
}
