import { parse } from "csv-parse/sync";
import { db } from "../db.js";

export function parseRows(text) {
  return parse(text, { columns: true, skip_empty_lines: true });
}

async function saveRow(row) {
  await db.products.upsert({ sku: row.sku, name: row.name, price: Number(row.price) });
}

export async function importProducts(text) {
  const rows = parseRows(text);
  rows.forEach(async (row) => {
    await saveRow(row);
  });
  return { imported: rows.length };
}
