from blog.slugs import slugify


def test_spaces_become_dashes():
    assert slugify("Hello World") == "hello-world"


def test_accents_are_dropped():
    assert slugify("Crème brûlée") == "creme-brulee"


def test_punctuation_collapses():
    assert slugify("Hello, world!!") == "hello-world"


def test_empty_text_gives_empty_slug():
    assert slugify("") == ""
