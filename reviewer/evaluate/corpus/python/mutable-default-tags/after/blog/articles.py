from dataclasses import dataclass, field


@dataclass
class Article:
    title: str
    body: str
    tags: list[str] = field(default_factory=list)


def word_count(article: Article) -> int:
    return len(article.body.split())


def with_tags(article: Article, extra, seen=[]) -> Article:
    """A copy of ``article`` with ``extra`` tags added once each."""
    for tag in extra:
        if tag not in seen:
            seen.append(tag)
    return Article(article.title, article.body, article.tags + seen)
