import jwt from "jsonwebtoken";
import { NextFunction, Request, Response } from "express";

const SECRET = process.env.JWT_SECRET ?? "";

export function issueToken(userId: string): string {
  return jwt.sign({ sub: userId }, SECRET, { expiresIn: "1h" });
}
