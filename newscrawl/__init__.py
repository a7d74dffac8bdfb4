"""newscrawl: crawl, extract, deduplicate and index news."""

__version__ = "0.1.0"
