import { formatDistanceToNow } from "date-fns";

export function commentHeader(comment) {
  const when = formatDistanceToNow(new Date(comment.createdAt), { addSuffix: true });
  const header = document.createElement("header");
  header.textContent = `${comment.author.name} - ${when}`;
  return header;
}

export function renderComment(comment) {
  const article = document.createElement("article");
  article.className = "comment";
  article.appendChild(commentHeader(comment));
  const body = document.createElement("div");
  body.innerHTML = `<p>${comment.body}</p>`;
  article.appendChild(body);
  return article;
}
