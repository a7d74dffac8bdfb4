"""Article URL shapes learned from feeds and news sitemaps (scheduler/url_shapes.py), through the
discovery policy the pipeline uses."""

from __future__ import annotations

from newscrawl.core.records import Link
from scheduler.discovery import Discovery, looks_like_article
from scheduler.outlets import OutletIndex, parse_outlets
from scheduler.url_shapes import url_shape

OUTLETS = OutletIndex(parse_outlets('[[outlet]]\nname = "A"\nurls = ["https://a.example/"]\n'))


def _articles(discovery: Discovery, links: list[str], source: str, referrer: str) -> list[str]:
    found = discovery.entries(
        [Link(u, "page") for u in links], outlet_name="A", depth=0, referrer=referrer, source=source
    )
    return [e.url for e in found if e.kind == "article"]


def test_shapes_keep_words_and_class_what_varies() -> None:
    assert url_shape("https://a.example/news/articles/clymn8zyrp9o") == (
        "a.example",
        ("news", "articles", "<id>"),
    )
    assert url_shape("https://A.example/story/best-rain-jackets/") == ("a.example", ("story", "<slug>", "/"))
    assert url_shape("https://a.example/news/uk-politics-68000000") == ("a.example", ("news", "<slug#>"))
    assert url_shape("https://a.example/2024/10/16/2003825372.html?id=7&cmpid=rss") == (
        "a.example",
        ("<n>", "<n>", "<n>", "<n>.html", "?id=<n>"),
    )
    # A story named by its query alone; a fixed parameter (a feed's tag) is no part of a shape.
    assert url_shape("https://a.example/gma/living/story?id=105867721") == (
        "a.example",
        ("gma", "living", "story", "?id=<n>"),
    )
    assert url_shape("https://a.example/story/best-rain-jackets?cmpid=rss") == (
        "a.example",
        ("story", "<slug>"),
    )
    assert url_shape("https://a.example/search?q=rain") is None
    # Nothing that varies from story to story: a section, a two-word topic, the home page.
    assert url_shape("https://a.example/news/uk-politics") is None
    assert url_shape("https://a.example/") is None


def test_a_feeds_story_shape_makes_a_listings_short_slugs_stories() -> None:
    """Three stories of the feed at /story/<three words> teach the shape: the home page's links
    of that shape are stories though the URL rule alone takes them for sections; links of other
    shapes (a topic page, a section) are not; a listing teaches nothing."""
    feed_stories = [
        "https://a.example/story/best-rain-jackets",
        "https://a.example/story/types-of-saws",
        "https://a.example/story/fashion-trends-ahead",
    ]
    on_home = [
        "https://a.example/story/healing-through-art",
        "https://a.example/topic/rain-jackets",
        "https://a.example/thema/climate-and-energy",
        "https://a.example/news",
    ]
    assert not any(looks_like_article(u) for u in [*feed_stories, *on_home])
    discovery = Discovery(OUTLETS)
    assert _articles(discovery, on_home, "listing", "https://a.example/") == []
    assert _articles(discovery, feed_stories[:2], "feed", "https://a.example/feed") == feed_stories[:2]
    assert _articles(discovery, on_home, "listing", "https://a.example/") == []  # two are not enough
    assert _articles(discovery, feed_stories[2:], "feed", "https://a.example/feed") == feed_stories[2:]
    assert _articles(discovery, on_home, "listing", "https://a.example/") == on_home[:1]

    off = Discovery(OUTLETS, learn_article_shapes=False)
    _articles(off, feed_stories, "feed", "https://a.example/feed")
    assert _articles(off, on_home, "listing", "https://a.example/") == []


def test_only_news_sitemaps_teach_shapes() -> None:
    """A site's other sitemaps list tag, author and service pages beside its stories."""
    tags = [f"https://a.example/tag/{w}-weather-news" for w in ("rain", "sun", "snow")]
    discovery = Discovery(OUTLETS)
    _articles(discovery, tags, "sitemap", "https://a.example/sitemap-tags.xml")
    assert _articles(discovery, ["https://a.example/tag/wind-weather-news"], "listing", "x") == []
    _articles(discovery, tags, "sitemap", "https://a.example/news-sitemap.xml")
    assert _articles(discovery, ["https://a.example/tag/wind-weather-news"], "listing", "x") == [
        "https://a.example/tag/wind-weather-news"
    ]


def test_stories_named_by_their_query_are_learned_and_a_feeds_tag_does_not_hide_them() -> None:
    """A site whose stories are ``/story?id=N``: the URL rule reads no number in a query. Three
    from the feed (tagged ``cmpid=rss``) make the home page's ``/story?id=M`` a story; the
    same page with another parameter (``?page=2``) is not."""
    discovery = Discovery(OUTLETS)
    feed = [f"https://a.example/gma/story?id={n}&cmpid=rss" for n in (105867721, 105867735, 105867790)]
    home = ["https://a.example/gma/story?id=105867800", "https://a.example/gma/story?page=2"]
    assert not any(looks_like_article(u) for u in [*feed, *home])
    _articles(discovery, feed, "feed", "https://a.example/feed")
    assert _articles(discovery, home, "listing", "https://a.example/") == home[:1]
