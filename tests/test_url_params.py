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


def test_the_page_processor_learns_only_from_canonicals_that_name_a_story() -> None:
    """Two templates whose canonical drops the ``?id=`` that tells their pages apart (``/video``,
    ``/gallery``) would make ``id`` look ignorable: their canonicals do not look like stories, so
    nothing is learned and ``/video?id=9`` stays its own URL; story addresses do teach."""
    from newscrawl.app.factory import build_processor
    from newscrawl.core.records import FrontierEntry, Lease
    from newscrawl.core.settings import Settings
    from workers.fetch import FetchResponse

    processor = build_processor(Settings(), [])

    def page(url: str, canonical: str) -> FetchResponse:
        text = "The harbour council met again today to talk about the ferries. " * 30
        head = f'<link rel="canonical" href="{canonical}">'
        html = (
            f"<html><head>{head}</head><body><article><h1>A story</h1><p>{text}</p></article></body></html>"
        )
        return FetchResponse(url, url, 200, {"content-type": "text/html"}, body=html.encode(), text=html)

    def feed_links(urls: list[str]) -> list[str]:
        items = "".join(f"<item><title>t</title><link>{u}</link></item>" for u in urls)
        rss = f'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>{items}</channel></rss>'
        feed = "https://news.example/feed.xml"
        response = FetchResponse(
            feed, feed, 200, {"content-type": "application/rss+xml"}, body=rss.encode(), text=rss
        )
        result = processor.process(Lease(feed, "news.example", "feed", None, 0), response)
        return [e.url for e in result.entries if isinstance(e, FrontierEntry)]

    for url, canonical in (
        ("https://news.example/video?id=5", "https://news.example/video"),
        ("https://news.example/gallery?id=7", "https://news.example/gallery"),
    ):
        assert processor.process(
            Lease(url, "news.example", "article", None, 1), page(url, canonical)
        ).document
    assert feed_links(["https://news.example/video?id=9"]) == ["https://news.example/video?id=9"]

    for n in (1, 2):
        story = f"https://news.example/2026/12/06/harbour-story-number-{n}"
        lease = Lease(f"{story}?src=rss", "news.example", "article", None, 1)
        assert processor.process(lease, page(f"{story}?src=rss", story)).document
    later = "https://news.example/2026/12/06/harbour-story-number-3"
    assert feed_links([f"{later}?src=rss"]) == [later]
