import jwt from "jsonwebtoken";
import { NextFunction, Request, Response } from "express";

const SECRET = process.env.JWT_SECRET ?? "";

export function issueToken(userId: string): string {
  return jwt.sign({ sub: userId }, SECRET, { expiresIn: "1h" });
}

export function requireUser(req: Request, res: Response, next: NextFunction): void {
  const header = req.headers.authorization ?? "";
  const token = header.replace(/^Bearer /, "");
  const claims = jwt.decode(token) as { sub?: string } | null;
  if (!claims?.sub) {
    res.status(401).end();
    return;
  }
  res.locals.userId = claims.sub;
  next();
}
