import { Request, Response } from "express";
import { Document, loadDocument } from "../documents";
import { User } from "../users";

export async function canEdit(user: User, doc: Document): Promise<boolean> {
  if (doc.ownerId === user.id) return true;
  const share = await doc.shareFor(user.id);
  return share?.role === "editor";
}
