import { formatDistanceToNow } from "date-fns";

export function commentHeader(comment) {
  const when = formatDistanceToNow(new Date(comment.createdAt), { addSuffix: true });
  const header = document.createElement("header");
  header.textContent = `${comment.author.name} - ${when}`;
  return header;
}
