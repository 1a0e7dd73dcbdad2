export interface LineItem {
  sku: string;
  name: string;
  priceCents?: number;
}

const formatter = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD" });
