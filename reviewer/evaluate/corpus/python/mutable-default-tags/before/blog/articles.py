from dataclasses import dataclass, field


@dataclass
class Article:
    title: str
    body: str
    tags: list[str] = field(default_factory=list)


def word_count(article: Article) -> int:
    return len(article.body.split())
