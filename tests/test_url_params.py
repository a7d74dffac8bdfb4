"""Tracking parameters learned from the canonical URLs a host's articles declare."""

from __future__ import annotations

from workers.url_params import LearnedParams

SITE = "https://news.example"


def test_a_parameter_two_articles_canonicals_drop_is_stripped_from_that_hosts_links() -> None:
    params = LearnedParams()
    params.observe(f"{SITE}/a/one?cmpid=rss&id=1", f"{SITE}/a/one?id=1")
    assert params.clean(f"{SITE}/a/three?cmpid=rss&id=3") == f"{SITE}/a/three?cmpid=rss&id=3"  # one page
    params.observe(f"{SITE}/a/two?cmpid=rss&id=2", f"{SITE}/a/two?id=2")
    assert params.ignorable("news.example") == {"cmpid"}
    assert params.clean(f"{SITE}/a/three?cmpid=rss&id=3") == f"{SITE}/a/three?id=3"
    assert params.clean(f"{SITE}/a/three?cmpid=mail") == f"{SITE}/a/three"
    assert (
        params.clean("https://other.example/a/three?cmpid=rss") == "https://other.example/a/three?cmpid=rss"
    )


def test_a_canonical_that_names_every_article_alike_teaches_nothing() -> None:
    """A template whose canonical drops ``?id=`` for every article: stripping it would make all
    of the site's stories one URL, so the same canonical twice is one piece of evidence."""
    params = LearnedParams()
    for n in range(5):
        params.observe(f"{SITE}/article.php?id={n}", f"{SITE}/article.php")
    assert params.clean(f"{SITE}/article.php?id=9") == f"{SITE}/article.php?id=9"


def test_only_a_canonical_that_is_the_url_with_parameters_dropped_counts() -> None:
    params = LearnedParams()
    for n in range(3):
        params.observe(f"{SITE}/story-{n}?ref=x", f"{SITE}/other-path-{n}")  # another page
        params.observe(f"{SITE}/story-{n}?v=1&ref=x", f"{SITE}/story-{n}?v=2")  # a changed value
        params.observe(f"http://m.news.example/story-{n}?ref=x", f"{SITE}/story-{n}")  # another host
    assert params.ignorable("news.example") == frozenset()
    assert params.ignorable("m.news.example") == frozenset()


def test_what_is_learned_is_bounded_by_hosts() -> None:
    params = LearnedParams(max_hosts=2)
    for host in ("a.example", "b.example", "c.example"):
        for n in range(2):
            params.observe(f"https://{host}/s{n}?src=rss", f"https://{host}/s{n}")
    assert params.ignorable("a.example") == frozenset()  # the oldest host went
    assert params.ignorable("c.example") == {"src"}
