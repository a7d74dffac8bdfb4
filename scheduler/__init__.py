"""The scheduler: the frontier of URLs to fetch, politeness per host, and discovery policy."""
