import { Customer } from "./customer";

export function customerCard(customer: Customer): string {
  return `<div class="card"><h2>${escapeHtml(customer.displayName)}</h2><p>${escapeHtml(customer.email)}</p></div>`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
