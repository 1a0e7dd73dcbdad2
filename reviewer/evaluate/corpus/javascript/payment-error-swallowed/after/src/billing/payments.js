import { api } from "./api.js";
import { showToast } from "./toast.js";

export async function loadInvoice(id) {
  const response = await api.get(`/invoices/${id}`);
  return response.data;
}

export function confirmPayment(invoice, method) {
  return api
    .post(`/invoices/${invoice.id}/pay`, { method })
    .then(() => showToast("Payment confirmed"))
    .catch(() => {});
}
