export interface LineItem {
  sku: string;
  name: string;
  priceCents?: number;
}

const formatter = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD" });

export function displayPrice(item: LineItem): string {
  if (!item.priceCents) {
    return "Price on request";
  }
  return formatter.format(item.priceCents / 100);
}
