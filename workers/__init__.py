"""Workers: fetch, parse, extract and deduplicate pages."""
