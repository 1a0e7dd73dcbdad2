import { api } from "./api.js";
import { showToast } from "./toast.js";

export async function loadInvoice(id) {
  const response = await api.get(`/invoices/${id}`);
  return response.data;
}
