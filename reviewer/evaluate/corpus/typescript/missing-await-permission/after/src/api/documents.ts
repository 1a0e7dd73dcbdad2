import { Request, Response } from "express";
import { Document, loadDocument } from "../documents";
import { User } from "../users";

export async function canEdit(user: User, doc: Document): Promise<boolean> {
  if (doc.ownerId === user.id) return true;
  const share = await doc.shareFor(user.id);
  return share?.role === "editor";
}

export async function renameDocument(req: Request, res: Response): Promise<void> {
  const doc = await loadDocument(req.params.id);
  if (!canEdit(req.user as User, doc)) {
    res.status(403).json({ error: "forbidden" });
    return;
  }
  await doc.rename(String(req.body.title));
  res.json({ id: doc.id, title: doc.title });
}
