// The two dialogs: the token prompt, shown when the API answers 401, and the
// confirmation every backend action goes through, which stays open with the
// API's error text when the change is refused.
import { ApiError } from './api';

const el = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

export function askToken(problem: string | undefined, use: (token: string) => void): void {
  const dialog = el<HTMLDialogElement>('token-dialog');
  const input = el<HTMLInputElement>('token-input');
  el('token-error').textContent = problem ?? '';
  input.value = '';
  el<HTMLFormElement>('token-form').onsubmit = (ev) => {
    ev.preventDefault();
    const t = input.value.trim();
    if (t === '') return;
    dialog.close();
    use(t);
  };
  if (!dialog.open) dialog.showModal();
  input.focus();
}

export interface Confirmation {
  text: string;
  /** ask for a weight, starting from this one */
  weight?: number;
  /** the change; a throw keeps the dialog open with its message */
  run(weight?: number): Promise<void>;
}

export function confirmAction(c: Confirmation): void {
  const dialog = el<HTMLDialogElement>('confirm-dialog');
  const field = el('weight-field');
  const input = el<HTMLInputElement>('weight-input');
  const error = el('confirm-error');
  const ok = el<HTMLButtonElement>('confirm-ok');
  el('confirm-text').textContent = c.text;
  error.textContent = '';
  field.hidden = c.weight === undefined;
  if (c.weight !== undefined) input.value = String(c.weight);
  ok.disabled = false;
  el<HTMLButtonElement>('confirm-cancel').onclick = () => dialog.close();
  el<HTMLFormElement>('confirm-form').onsubmit = async (ev) => {
    ev.preventDefault();
    let weight: number | undefined;
    if (c.weight !== undefined) {
      weight = Number(input.value);
      if (input.value.trim() === '' || !Number.isInteger(weight)) {
        error.textContent = 'the weight must be a whole number from 0 to 65535';
        return;
      }
    }
    ok.disabled = true;
    try {
      await c.run(weight);
      dialog.close();
    } catch (err) {
      const code = err instanceof ApiError && err.code ? ` [${err.code}]` : '';
      error.textContent = `Refused: ${err instanceof Error ? err.message : String(err)}${code}`;
    } finally {
      ok.disabled = false;
    }
  };
  dialog.showModal();
  (c.weight === undefined ? ok : input).focus();
}
