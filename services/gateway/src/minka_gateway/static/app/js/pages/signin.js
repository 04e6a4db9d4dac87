import { h } from '../dom.js';
import { t } from '../i18n.js';
import * as session from '../session.js';
import { alertBox, clearErrors, field, heading, input } from '../ui.js';

export function render({ view, afterSignIn }) {
  const email = input({ type: 'email', name: 'email', autocomplete: 'username', required: true, spellcheck: false });
  const password = input({ type: 'password', name: 'password', autocomplete: 'current-password', required: true });
  const submit = h('button', { type: 'submit', class: 'primary', text: t('signin.button') });
  const box = alertBox();
  const form = h('form', { class: 'card narrow', novalidate: true },
    field('signin.email', email), field('signin.password', password), box, submit);

  if (sessionStorage.getItem('minka.expired')) {
    sessionStorage.removeItem('minka.expired');
    box.append(h('p', { text: t('signin.expired') }));
    box.hidden = false;
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors(form);
    if (!email.value.trim() || !password.value) {
      box.append(h('p', { text: t('signin.missing') }));
      box.hidden = false;
      (email.value.trim() ? password : email).focus();
      return;
    }
    submit.disabled = true;
    try {
      await session.signIn(email.value.trim(), password.value);
      afterSignIn();
    } catch (error) {
      box.append(h('p', { text: t(`signin.error.${error.reason || 'server'}`) }));
      box.hidden = false;
      password.value = '';
      password.focus();
    } finally {
      submit.disabled = false;
    }
  });

  view.append(heading('signin.title'), h('p', { class: 'lead', text: t('signin.intro') }), form);
}
