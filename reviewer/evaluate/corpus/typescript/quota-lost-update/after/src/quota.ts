import { Redis } from "ioredis";

const redis = new Redis(process.env.REDIS_URL ?? "redis://localhost:6379");
export const DAILY_LIMIT = 1000;

function key(apiKey: string): string {
  return `quota:${apiKey}:${new Date().toISOString().slice(0, 10)}`;
}

export async function consume(apiKey: string): Promise<boolean> {
  const used = Number((await redis.get(key(apiKey))) ?? 0);
  if (used >= DAILY_LIMIT) {
    return false;
  }
  await redis.set(key(apiKey), String(used + 1), "EX", 86400);
  return true;
}
