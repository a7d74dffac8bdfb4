"""Elasticsearch 8/9 and OpenSearch 2/3: clients, index administration, and search.

The flavour comes from settings or from the cluster's own answer to ``GET /``. The official
clients are used (``elasticsearch`` with its async bulk helpers, ``opensearch-py`` with its own);
their errors are mapped here to :class:`SearchEngineError` with the cluster URL attached.

Indices are versioned: documents live in ``<name>-v<N>`` behind two aliases, ``<name>`` (read)
and ``<name>-write``, so a mapping change is a reindex into ``v<N+1>`` and one atomic alias swap.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from indexer.mapping import MAPPING_VERSION, index_template
from newscrawl.core.errors import SearchEngineError
from newscrawl.core.interfaces import SearchQuery
from newscrawl.core.settings import IndexSettings, Settings


def detect_flavor(settings: IndexSettings) -> str:
    if settings.flavor != "auto":
        return settings.flavor
    try:
        request = urllib.request.Request(settings.url.rstrip("/") + "/", headers=_auth_headers(settings))
        with urllib.request.urlopen(request, timeout=settings.request_timeout_s) as response:
            info = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        # Its status decides: a 503 of a cluster still starting is waited out, a 401 is bad config.
        raise SearchEngineError(
            f"cannot ask the cluster what it is: {exc}", url=settings.url, status=exc.code
        ) from exc
    except OSError as exc:  # no answer: refused, reset, timed out, unknown host
        raise SearchEngineError(f"cannot ask the cluster what it is: {exc}", url=settings.url) from exc
    except ValueError as exc:  # an answer, but not a cluster's
        raise SearchEngineError(
            f"the answer to GET / is not a cluster's: {exc}", url=settings.url, status=200
        ) from exc
    return "opensearch" if info.get("version", {}).get("distribution") == "opensearch" else "elasticsearch"


def _auth_headers(settings: IndexSettings) -> dict[str, str]:
    import base64

    if settings.api_key:
        return {"Authorization": f"ApiKey {settings.api_key}"}
    if settings.username:
        token = base64.b64encode(f"{settings.username}:{settings.password or ''}".encode()).decode()
        return {"Authorization": f"Basic {token}"}
    return {}


def make_client(settings: IndexSettings, flavor: str, *, asynchronous: bool = False) -> Any:
    timeout = settings.request_timeout_s
    tls: dict[str, Any] = {}
    if settings.url.startswith("https"):
        tls["verify_certs"] = settings.verify_certs
        if settings.ca_certs:
            tls["ca_certs"] = str(settings.ca_certs)
    if flavor == "elasticsearch":
        import elasticsearch

        cls = elasticsearch.AsyncElasticsearch if asynchronous else elasticsearch.Elasticsearch
        auth: dict[str, Any] = {}
        if settings.api_key:
            auth["api_key"] = settings.api_key
        elif settings.username:
            auth["basic_auth"] = (settings.username, settings.password or "")
        return cls(settings.url, request_timeout=timeout, max_retries=0, **auth, **tls)
    import opensearchpy

    ocls = opensearchpy.AsyncOpenSearch if asynchronous else opensearchpy.OpenSearch
    oauth: dict[str, Any] = {}
    if settings.username:
        oauth["http_auth"] = (settings.username, settings.password or "")
    headers = _auth_headers(settings) if settings.api_key else None
    return ocls(hosts=[settings.url], timeout=timeout, max_retries=0, headers=headers, **oauth, **tls)


def engine_error(exc: Exception, url: str) -> SearchEngineError:
    """Map a client library's error to ours (status 0: no answer)."""
    status = getattr(getattr(exc, "meta", None), "status", None) or getattr(exc, "status_code", None)
    if not isinstance(status, int):
        status = 0
    return SearchEngineError(f"{type(exc).__name__}: {exc}"[:500], url=url, status=status)


def no_answer_errors(flavor: str) -> tuple[type[Exception], ...]:
    """What the flavour's client raises when the cluster gives no answer (connection refused or
    reset, request timed out): the bulk helpers pass these through, unlike the cluster's answers."""
    if flavor == "elasticsearch":
        import elastic_transport

        return (elastic_transport.TransportError,)
    import opensearchpy

    return (opensearchpy.exceptions.TransportError,)


class EngineClient:
    """One JSON request API over both clients (their typed APIs differ between versions)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings.index
        self.url = settings.index.url
        self.flavor = detect_flavor(settings.index)
        self.client = make_client(settings.index, self.flavor)

    def request(self, method: str, path: str, body: Any = None, params: dict[str, Any] | None = None) -> Any:
        try:
            if self.flavor == "elasticsearch":
                headers = {"accept": "application/json"}
                if body is not None:
                    headers["content-type"] = "application/json"
                if params:
                    path += "?" + "&".join(f"{k}={v}" for k, v in params.items())
                response = self.client.perform_request(method, path, headers=headers, body=body)
                return response.body
            return self.client.transport.perform_request(method, path, params=params, body=body)
        except Exception as exc:
            raise engine_error(exc, self.url) from exc

    def close(self) -> None:
        self.client.close()


def write_alias_of(name: str) -> str:
    """The alias every write goes through (``index.name`` is the one searches read)."""
    return f"{name}-write"


class IndexAdmin:
    """``newscrawl index init|status|reindex``."""

    def __init__(self, settings: Settings, client: EngineClient | None = None) -> None:
        self.name = settings.index.name
        self.client = client or EngineClient(settings)

    @property
    def read_alias(self) -> str:
        return self.name

    @property
    def write_alias(self) -> str:
        return write_alias_of(self.name)

    def versioned(self, version: int) -> str:
        return f"{self.name}-v{version}"

    def current_version(self) -> int | None:
        try:
            aliases = self.client.request("GET", f"/_alias/{self.write_alias}")
        except SearchEngineError as exc:
            if exc.status == 404:
                return None
            raise
        versions = [int(index.rsplit("-v", 1)[1]) for index in aliases if "-v" in index]
        return max(versions) if versions else None

    def init(self) -> dict[str, Any]:
        """Template, first index, both aliases; does nothing to an index that exists."""
        self.client.request("PUT", f"/_index_template/{self.name}", index_template(f"{self.name}-v*"))
        version = self.current_version()
        if version is not None:
            return {"index": self.versioned(version), "created": False}
        index = self.versioned(1)
        try:
            self.client.request(
                "PUT",
                f"/{index}",
                {"aliases": {self.read_alias: {}, self.write_alias: {"is_write_index": True}}},
            )
        except SearchEngineError as exc:
            # Two indexers that found the index gone make it again at once: one of them wins.
            version = self.current_version() if "resource_already_exists" in exc.message else None
            if version is None:
                raise
            return {"index": self.versioned(version), "created": False}
        return {"index": index, "created": True}

    def status(self) -> dict[str, Any]:
        version = self.current_version()
        if version is None:
            return {"initialised": False}
        index = self.versioned(version)
        count = self.client.request("GET", f"/{self.read_alias}/_count")["count"]
        mapping = self.client.request("GET", f"/{index}/_mapping")
        meta = mapping.get(index, {}).get("mappings", {}).get("_meta", {})
        return {
            "initialised": True,
            "flavor": self.client.flavor,
            "index": index,
            "documents": count,
            "mapping_version": meta.get("version"),
            "code_mapping_version": MAPPING_VERSION,
        }

    def reindex(self) -> dict[str, Any]:
        """Copy into the next version with the current mapping, then swap both aliases at once.

        Searches keep answering from the old index until the swap; a write made during the copy
        would go to the old index after the copy read it, so ``newscrawl index reindex`` runs this
        with the indexers paused (``indexer.stream.indexing_paused``).
        """
        self.client.request("PUT", f"/_index_template/{self.name}", index_template(f"{self.name}-v*"))
        old = self.current_version()
        if old is None:
            return self.init()
        source, target = self.versioned(old), self.versioned(old + 1)
        self.client.request("PUT", f"/{target}", {})
        copied = self.client.request(
            "POST", "/_reindex", {"source": {"index": source}, "dest": {"index": target}}, {"refresh": "true"}
        )
        self.client.request(
            "POST",
            "/_aliases",
            {
                "actions": [
                    {"remove": {"index": source, "alias": self.read_alias}},
                    {"remove": {"index": source, "alias": self.write_alias}},
                    {"add": {"index": target, "alias": self.read_alias}},
                    {"add": {"index": target, "alias": self.write_alias, "is_write_index": True}},
                ]
            },
        )
        return {"from": source, "to": target, "documents": copied.get("total", 0)}


def canonical_only() -> dict[str, Any]:
    return {"bool": {"must_not": [{"exists": {"field": "duplicate_of"}}]}}


def search_body(query: SearchQuery) -> dict[str, Any]:
    """The query DSL for a :class:`SearchQuery` (README "Searching" shows it to consumers)."""
    filters: list[dict[str, Any]] = []
    if query.outlet:
        filters.append({"term": {"outlet": query.outlet}})
    if query.since:
        filters.append({"range": {"published_at": {"gte": query.since.isoformat()}}})
    if query.language:
        filters.append({"term": {"language": query.language.lower()}})
    must: list[dict[str, Any]] = []
    if query.text.strip():
        must.append(
            {
                "multi_match": {
                    "query": query.text,
                    "fields": ["title^3", "description^2", "body", "authors"],
                    "operator": "and",
                }
            }
        )
    boolean: dict[str, Any] = {"must": must or [{"match_all": {}}], "filter": filters}
    if not query.include_duplicates:
        boolean["must_not"] = [{"exists": {"field": "duplicate_of"}}]
    body: dict[str, Any] = {
        "size": query.limit,
        "query": {"bool": boolean},
        "highlight": {"fields": {"body": {"fragment_size": 160, "number_of_fragments": 1}}},
    }
    newest = {"published_at": {"order": "desc", "missing": "_last"}}
    body["sort"] = ["_score", newest] if must else [newest]
    return body
