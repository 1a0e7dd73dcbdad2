function lineTotal(item) {
  return item.price * item.quantity;
}

export function total(items) {
  return items.reduce((sum, item) => sum + lineTotal(item), 0);
}
