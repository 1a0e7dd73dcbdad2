import { Redis } from "ioredis";

const redis = new Redis(process.env.REDIS_URL ?? "redis://localhost:6379");
export const DAILY_LIMIT = 1000;

function key(apiKey: string): string {
  return `quota:${apiKey}:${new Date().toISOString().slice(0, 10)}`;
}
