"""What users would pick instead: Scrapy with trafilatura, on the same pages with the same discovery.

Seeds are the outlets' feeds, sitemaps and listing pages; feeds and sitemaps yield articles,
listing pages yield the links newscrawl's discovery rule calls articles (same rule, so the
same pages are fetched); each article goes through trafilatura with metadata, and items are
written as JSON Lines (Scrapy's feed export). robots.txt is obeyed.

Usage: python bench/scrapy_baseline.py OUTLETS_TOML PROXY_URL OUT_JSONL
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import scrapy
import trafilatura
from scrapy.crawler import CrawlerProcess
from scrapy.linkextractors import LinkExtractor
from scrapy.utils.sitemap import Sitemap

from scheduler.discovery import looks_like_article
from scheduler.outlets import load_outlets


class NewsSpider(scrapy.Spider):  # type: ignore[misc]
    name = "news"

    def __init__(self, outlets_file: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.outlets = load_outlets(outlets_file)

    async def start(self) -> Any:  # Scrapy >= 2.13 asks for this instead of start_requests()
        for request in self.start_requests():
            yield request

    def start_requests(self) -> Iterator[scrapy.Request]:
        for outlet in self.outlets:
            hosts = [h.split(":")[0] for h in outlet.allowed_hosts if not h.startswith("*")]
            for url in outlet.feeds:
                yield scrapy.Request(url, self.parse_feed)
            for url in outlet.sitemaps:
                yield scrapy.Request(url, self.parse_sitemap)
            for url in outlet.urls:
                yield scrapy.Request(url, self.parse_listing, cb_kwargs={"hosts": hosts})

    def parse_feed(self, response: scrapy.http.Response) -> Iterator[scrapy.Request]:
        response.selector.remove_namespaces()
        for link in response.xpath("//item/link/text() | //entry/link/@href").getall():
            yield response.follow(link.strip(), self.parse_article)

    def parse_sitemap(self, response: scrapy.http.Response) -> Iterator[scrapy.Request]:
        for entry in Sitemap(response.body):
            yield scrapy.Request(entry["loc"], self.parse_article)

    def parse_listing(self, response: scrapy.http.Response, hosts: list[str]) -> Iterator[scrapy.Request]:
        for link in LinkExtractor(allow_domains=hosts).extract_links(response):
            if looks_like_article(link.url):
                yield scrapy.Request(link.url, self.parse_article)

    def parse_article(self, response: scrapy.http.Response) -> Iterator[dict[str, Any]]:
        doc = trafilatura.bare_extraction(response.text, url=response.url, with_metadata=True)
        if doc is None or not doc.text:
            return
        yield {
            "url": response.url,
            "title": doc.title,
            "author": doc.author,
            "date": doc.date,
            "language": doc.language,
            "text": doc.text,
        }


def main() -> None:
    outlets, proxy, out = sys.argv[1:4]
    os.environ["http_proxy"] = proxy
    process = CrawlerProcess(
        settings={
            "ROBOTSTXT_OBEY": True,
            "CONCURRENT_REQUESTS": 32,
            "CONCURRENT_REQUESTS_PER_DOMAIN": 1,
            "DOWNLOAD_DELAY": 0,
            "LOG_LEVEL": os.environ.get("SCRAPY_LOG_LEVEL", "ERROR"),
            "TELNETCONSOLE_ENABLED": False,
            "FEEDS": {out: {"format": "jsonlines", "overwrite": True}},
            "REQUEST_FINGERPRINTER_IMPLEMENTATION": "2.7",
        }
    )
    process.crawl(NewsSpider, outlets_file=outlets)
    process.start()


if __name__ == "__main__":
    main()
