"""The dedup stage through its interface, built by the production factory."""

from __future__ import annotations

import multiprocessing
import os
import random
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis

from newscrawl.app.factory import build_dedup_stage, build_dedup_store
from newscrawl.core.document import Document, doc_id
from newscrawl.core.records import Teaser
from newscrawl.core.redis_keys import DedupKeys
from newscrawl.core.settings import Settings
from newscrawl.core.urls import host_of
from tests.conftest import SettingsFactory
from workers.dedup import DedupStage, DocUpdate

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
STORY = [
    f"Paragraph {n} of the harbour story: the council voted on the {w} budget after a long debate "
    f"about ferries, tunnels and the future of the old {w} district near the river."
    for n, w in enumerate(["north", "south", "east", "west", "central", "upper"])
]
OTHER = [
    f"Paragraph {n} of a different story about the football league, where the {w} club won again "
    f"and supporters celebrated until late in the {w} of the city."
    for n, w in enumerate(["red", "blue", "green"])
]


def doc(
    url: str,
    paragraphs: list[str],
    *,
    title: str = "Harbour budget",
    canonical: str | None = None,
    published: datetime = T0,
) -> Document:
    canonical = canonical or url
    return Document(
        id=doc_id(canonical),
        url=url,
        canonical_url=canonical,
        outlet=None,
        host=host_of(url),
        title=title,
        body="\n".join(paragraphs),
        published_at=published,
    )


def stage(settings: Settings) -> DedupStage:
    return build_dedup_stage(settings, build_dedup_store(settings))


def apply(index: dict[str, Document], d: Document, s: DedupStage) -> None:
    outcome = s.process(d)
    if outcome.action == "index":
        index[d.id] = d
    for update in outcome.updates:
        _apply_update(index, update)


def _apply_update(index: dict[str, Document], update: DocUpdate) -> None:
    if update.doc_id in index:
        for key, value in update.fields.items():
            setattr(index[update.doc_id], key, value)


def test_exact_and_near_duplicates_collapse_onto_the_earliest(backend_settings: SettingsFactory) -> None:
    s, index = stage(backend_settings()), {}
    copy = doc("http://wire.example/copy", STORY, published=T0 + timedelta(hours=2))
    edited = doc(
        "http://edit.example/e",
        STORY[:3] + STORY[4:],
        title="UPDATE: budget",
        published=T0 + timedelta(hours=3),
    )
    original = doc("http://herald.example/story", STORY)
    other = doc("http://sport.example/league", OTHER)
    for d in (copy, edited, other, original):  # the original arrives last
        apply(index, d, s)
    assert index[original.id].duplicate_of is None
    assert index[copy.id].duplicate_of == original.id
    assert index[edited.id].duplicate_of == original.id
    assert index[other.id].duplicate_of is None
    assert index[original.id].also_seen_at == ["http://edit.example/e", "http://wire.example/copy"]


def test_a_correction_lost_before_the_index_is_made_again_on_refetch(
    backend_settings: SettingsFactory,
) -> None:
    """A process that dies between the dedup decision and the index write loses the correction
    it carried; the page's next fetch (its lease expired) must carry it again."""
    s, index = stage(backend_settings()), {}
    copy = doc("http://wire.example/copy", STORY, published=T0 + timedelta(hours=2))
    original = doc("http://herald.example/story", STORY)
    apply(index, copy, s)
    s.process(original)  # decided and committed in the dedup store, then the process died
    index[original.id] = original = doc("http://herald.example/story", STORY)
    apply(index, original, s)  # the refetch
    assert index[copy.id].duplicate_of == original.id
    assert index[original.id].duplicate_of is None
    assert index[original.id].also_seen_at == ["http://wire.example/copy"]


def test_cross_host_canonical_wins_and_original_page_replaces_copy(backend_settings: SettingsFactory) -> None:
    s, index = stage(backend_settings()), {}
    original_url = "http://herald.example/story"
    syndicated = doc(
        "http://wire.example/syndicated",
        [*STORY, "Wire footer text for licensed copies only."],
        canonical=original_url,
        published=T0 - timedelta(hours=1),
    )
    apply(index, syndicated, s)
    assert index[doc_id(original_url)].url == "http://wire.example/syndicated"
    apply(index, doc(original_url, STORY), s)
    stored = index[doc_id(original_url)]
    assert stored.url == original_url  # the page at the canonical URL supplies the content
    assert "Wire footer" not in stored.body
    assert stored.also_seen_at == ["http://wire.example/syndicated"]
    # An earlier-published near copy without canonical does not take over: the canonical URL has a vote.
    earlier = doc("http://early.example/x", STORY, published=T0 - timedelta(days=1))
    apply(index, earlier, s)
    assert index[earlier.id].duplicate_of == doc_id(original_url)


def test_block_becoming_boilerplate_recleans_earlier_documents(backend_settings: SettingsFactory) -> None:
    s, index = stage(backend_settings(dedup={"repeated_block_min_pages": 3})), {}
    promo = "Subscribe to the Herald newsletter for the morning briefing in your inbox."
    docs = [
        doc(
            f"http://herald.example/s{n}",
            [f"{STORY[n]} {n}", STORY[(n + 3) % 6] + " unique", promo],
            title=f"Story {n}",
        )
        for n in range(3)
    ]
    apply(index, docs[0], s)
    apply(index, docs[1], s)
    assert promo in index[docs[0].id].body  # two pages: not yet boilerplate
    apply(index, docs[2], s)
    assert all(promo not in index[d.id].body for d in docs)
    # Another host carrying the same text is syndication, not this host's boilerplate.
    apply(index, doc("http://other.example/p", [*OTHER, promo], title="Other"), s)
    assert promo in index[doc_id("http://other.example/p")].body


def test_teaser_headlines_of_other_articles_are_stripped(backend_settings: SettingsFactory) -> None:
    s, index = stage(backend_settings()), {}
    headline = "Council approves new ferry timetable for winter"
    page = doc("http://herald.example/a", [*STORY[:3], headline])
    apply(index, page, s)
    updates = s.observe_listing(
        "herald.example",
        [
            Teaser(
                page_url="http://herald.example/",
                article_url="http://herald.example/ferries",
                text=headline + " lede",
                headline=headline,
            )
        ],
    )
    for update in updates:
        _apply_update(index, update)
    assert headline not in index[page.id].body and STORY[0] in index[page.id].body


def test_any_order_gives_the_same_result(backend_settings: SettingsFactory) -> None:
    pages = [
        doc("http://herald.example/story", STORY),
        doc(
            "http://wire.example/copy",
            [*STORY, "Distributed by the wire."],
            published=T0 + timedelta(hours=1),
        ),
        doc("http://edit.example/e", STORY[1:], title="UPDATE", published=T0 + timedelta(hours=2)),
        doc("http://sport.example/league", OTHER),
        doc("http://wire.example/league", OTHER, published=T0 + timedelta(hours=5)),
    ]
    results = []
    for n in range(4):
        order = list(pages)
        random.Random(n).shuffle(order)
        s, index = stage(backend_settings(f"order{n}")), {}
        for d in order:
            apply(index, Document.from_dict(d.to_dict()), s)
        results.append(sorted((d.url, d.duplicate_of, d.body, tuple(d.also_seen_at)) for d in index.values()))
    assert all(r == results[0] for r in results)


def _worker(settings_json: str, seed: int, barrier: multiprocessing.synchronize.Barrier) -> None:
    s = stage(Settings.model_validate_json(settings_json))
    copies = [
        doc(f"http://site{n}.example/{seed}", STORY, published=T0 + timedelta(minutes=n)) for n in range(8)
    ]
    random.Random(seed).shuffle(copies)
    barrier.wait()
    for d in copies:
        s.process(d)


def test_two_processes_at_once_index_the_story_once(backend_settings: SettingsFactory) -> None:
    settings = backend_settings()
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(2)
    procs = [ctx.Process(target=_worker, args=(settings.model_dump_json(), seed, barrier)) for seed in (1, 2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    store = build_dedup_store(settings)
    stats = store.stats()
    store.close()
    assert stats["stories"] == 1 and stats["duplicates"] == 15


def test_a_stalled_dedup_lock_delays_pages_and_loses_none(tmp_path: Path) -> None:
    """A worker died holding the decision lock: pages wait in hand until it expires, none fails."""
    import asyncio
    import uuid

    import redis

    from newscrawl.app.demo import build_demo_web
    from newscrawl.app.engine import CrawlEngine
    from newscrawl.app.factory import build_components
    from newscrawl.core.redis_keys import DedupKeys
    from scheduler.outlets import parse_outlets
    from tests.conftest import REDIS_URL, drop_redis_prefix, make_settings, redis_available

    if not redis_available():
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis not reachable at {REDIS_URL}")
        pytest.skip(f"Redis not reachable at {REDIS_URL}")
    web, outlets = build_demo_web(articles_per_outlet=2)

    def crawl(
        name: str, stalled: bool
    ) -> tuple[set[tuple[str, str, str | None]], list[dict[str, object]], int]:
        prefix = f"nctest-{uuid.uuid4().hex[:12]}"
        settings = make_settings(
            tmp_path / name,
            fetch={"proxy": web.proxy_url},
            politeness={"min_delay_ms": 50, "backoff_base_s": 0.5},
            frontier={"backend": "redis", "max_attempts": 6},
            dedup={"backend": "redis", "lock_wait_s": 0.2},
            redis_url=REDIS_URL,
            redis_prefix=prefix,
        )
        try:
            if stalled:
                client = redis.Redis.from_url(REDIS_URL)
                client.set(DedupKeys(prefix).lock, "a-dead-worker", px=1500)
                client.close()
            components = build_components(settings, parse_outlets(outlets))
            engine = CrawlEngine(components)
            asyncio.run(engine.run(until_idle=True))
            outages = engine.handler.parts.outage.outages
            records = components.frontier.errors(final_only=False)  # type: ignore[attr-defined]
            docs = {(d.id, d.url, d.duplicate_of) for d in components.index.export()}
            components.close()
        finally:
            drop_redis_prefix(prefix)
        return docs, records, outages

    with web:
        stalled, records, outages = crawl("stalled", stalled=True)
        normal, _, calm = crawl("normal", stalled=False)
    assert outages >= 1 and calm == 0, "the lock never stalled a page"
    assert not [r for r in records if r["kind"] == "store"]  # a store failure fails no URL, even once
    assert stalled == normal and len(normal) >= 8


# --- the Redis store: round trips under the global lock ----------------------------------------


@pytest.fixture
def redis_dedup(tmp_path: Path, prefix: str) -> Settings:
    from tests.conftest import REDIS_URL, make_settings, redis_available

    if not redis_available():
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis not reachable at {REDIS_URL}")
        pytest.skip(f"Redis not reachable at {REDIS_URL}")
    return make_settings(tmp_path, dedup={"backend": "redis"}, redis_url=REDIS_URL, redis_prefix=prefix)


class RoundTrips:
    """Requests this process sends to Redis (a pipeline is one)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        send = redis.connection.AbstractConnection.send_packed_command

        def counted(connection: object, *args: object, **kwargs: object) -> None:
            self.count += 1
            send(connection, *args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(redis.connection.AbstractConnection, "send_packed_command", counted)


def test_a_redis_decision_takes_few_round_trips_whatever_the_size_of_the_cluster(
    redis_dedup: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every worker waits for the one decision lock: each round trip it holds the lock for is
    paid by the whole cluster, more so across machines. Writes go with the decision's next read
    and the release; a cluster's documents, aliases and graph are read in one request each; a
    document's own aliases, blocks and fingerprints come with it."""
    s = stage(redis_dedup)
    s.process(doc("http://warm.example/up", OTHER))  # scripts loaded, connection open
    trips = RoundTrips(monkeypatch)
    spent = []
    index: dict[str, Document] = {}
    for url in ["http://news.example/story", *(f"http://wire{n}.example/copy" for n in range(4))]:
        before = trips.count
        with s.decision():  # as the worker takes it: the index writes follow under the same lock
            apply(index, doc(url, STORY), s)
        spent.append(trips.count - before)
    story, *copies = spent
    assert story <= 8, spent  # 15 before session 28
    assert max(copies) <= 13 and copies[-1] == copies[0], spent  # 24, growing by 5 a member, before
    canonical = [d.id for d in index.values() if d.duplicate_of is None]
    assert len(canonical) == 1 and all(d.duplicate_of in (None, *canonical) for d in index.values())


def test_what_a_redis_decision_step_wrote_is_stored_when_the_step_ends(redis_dedup: Settings) -> None:
    """Writes wait for the step's next read, not for the lock's release: the index writes that
    follow a step under the same lock may wait out an outage for minutes, and a worker that dies
    meanwhile must not take the step's decision with it."""
    s = stage(redis_dedup)
    keys = DedupKeys(redis_dedup.redis_prefix)
    other_client = redis.Redis.from_url(redis_dedup.redis_url)
    story_id = doc_id("http://news.example/story")
    with s.decision():
        s.process(doc("http://news.example/story", STORY))
        assert other_client.exists(keys.lock)
        assert other_client.hget(keys.doc(story_id), "url") == b"http://news.example/story"
        assert other_client.zscore(keys.seen, story_id) is not None
        copy = doc("http://wire.example/copy", STORY)
        s.process(copy)
        assert other_client.smembers(keys.edges(copy.id)) == {story_id.encode()}
        # The cluster's verdict is the step's last write.
        duplicates = other_client.smembers(keys.duplicates)
        assert len(duplicates) == 1 and duplicates <= {copy.id.encode(), story_id.encode()}
    assert not other_client.exists(keys.lock)
    other_client.close()


def test_a_storys_fingerprints_are_worked_out_before_the_lock(
    redis_dedup: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Blocks, hashes and shingles depend on the page alone: worked out while other workers may
    decide (``prepare``), they cost the cluster nothing. A story whose blocks all stay needs no
    shingles under the lock; its copy needs only those of the stories it is compared with."""
    import workers.dedup

    s = stage(redis_dedup)
    lock = DedupKeys(redis_dedup.redis_prefix).lock
    other_client = redis.Redis.from_url(redis_dedup.redis_url)
    under_lock: list[int] = []
    shingles = workers.dedup.shingle_digests

    def watched(text: str) -> set[bytes]:
        under_lock.append(int(other_client.exists(lock)))
        return shingles(text)

    monkeypatch.setattr(workers.dedup, "shingle_digests", watched)
    story = doc("http://news.example/story", STORY)
    prepared = s.prepare(story)
    with s.decision():
        s.process(story, prepared)
    assert under_lock == [0]
    copy = doc("http://wire.example/copy", STORY[:-1], published=T0 + timedelta(hours=2))  # edited
    prepared = s.prepare(copy)
    with s.decision():
        s.process(copy, prepared)
    assert copy.duplicate_of == story.id
    # The copy's before the lock; the story's, loaded to be compared with it, under it.
    assert under_lock == [0, 0, 1]
    other_client.close()


# --- the window: a crawl that runs for weeks keeps a bounded store ---------------------------

DAY_S = 86_400.0


class Clock:
    def __init__(self) -> None:
        self.now = T0.timestamp()

    def __call__(self) -> float:
        return self.now


def windowed(settings: Settings) -> tuple[DedupStage, Clock]:
    clock = Clock()
    return build_dedup_stage(settings, build_dedup_store(settings), clock=clock), clock


def footprint(settings: Settings) -> int:
    """Rows of the SQLite store, or keys of the Redis one: what grows with every story kept."""
    if settings.dedup.backend == "redis":
        client = redis.Redis.from_url(settings.redis_url)
        return sum(1 for _ in client.scan_iter(match=f"{settings.redis_prefix}:dedup:*", count=1000))
    db = sqlite3.connect(settings.data_dir / "dedup.sqlite")
    tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    total = sum(int(db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]) for t in tables)
    db.close()
    return total


def story(n: int) -> list[str]:
    return [f"Story {n} paragraph {p}: {' '.join(f'w{n}x{p}y{k}' for k in range(30))}." for p in range(4)]


def test_a_story_unseen_for_the_window_leaves_the_store_and_a_later_copy_is_its_own_story(
    backend_settings: SettingsFactory,
) -> None:
    settings = backend_settings(dedup={"window_days": 1})
    s, clock = windowed(settings)
    index: dict[str, Document] = {}
    original = doc("http://herald.example/story", STORY)
    apply(index, original, s)
    clock.now += 3600
    copy = doc("http://wire.example/copy", STORY, published=T0 + timedelta(hours=1))
    apply(index, copy, s)
    assert index[copy.id].duplicate_of == original.id  # within the window: one story
    full = footprint(settings)
    clock.now += 2 * DAY_S
    apply(index, doc("http://other.example/p", OTHER, title="Other"), s)  # any decision prunes
    assert footprint(settings) < full  # both pages of the story left the store
    late = doc("http://late.example/copy", STORY, published=T0 + timedelta(days=2))
    apply(index, late, s)
    assert index[late.id].duplicate_of is None  # the story left the window: a story of its own
    assert index[original.id].duplicate_of is None and index[copy.id].duplicate_of == original.id


def test_a_cluster_with_a_member_seen_lately_stays_whole(backend_settings: SettingsFactory) -> None:
    s, clock = windowed(backend_settings(dedup={"window_days": 1}))
    index: dict[str, Document] = {}
    original = doc("http://herald.example/story", STORY)
    apply(index, original, s)
    clock.now += 0.9 * DAY_S
    copy = doc("http://wire.example/copy", STORY, published=T0 + timedelta(hours=20))
    apply(index, copy, s)
    clock.now += 0.5 * DAY_S  # the original left the window, its copy did not
    apply(index, doc("http://other.example/p", OTHER, title="Other"), s)
    late = doc("http://late.example/copy", STORY, published=T0 + timedelta(days=1))
    apply(index, late, s)
    assert index[late.id].duplicate_of == original.id  # still the earliest of one cluster
    assert sorted(index[original.id].also_seen_at) == ["http://late.example/copy", "http://wire.example/copy"]


def test_block_counts_older_than_the_window_do_not_make_boilerplate(
    backend_settings: SettingsFactory,
) -> None:
    s, clock = windowed(backend_settings(dedup={"window_days": 1, "repeated_block_min_pages": 3}))
    index: dict[str, Document] = {}
    shared = "A paragraph two reports of the same week quote word for word from the council's minutes."
    for n in range(2):
        apply(index, doc(f"http://herald.example/s{n}", [*story(n), shared], title=f"Story {n}"), s)
    clock.now += 2 * DAY_S
    third = doc("http://herald.example/s2", [*story(2), shared], title="Story 2")
    apply(index, third, s)
    assert shared in index[third.id].body  # one page within the window: not boilerplate
    clock.now += 3600
    for n in (3, 4):
        apply(index, doc(f"http://herald.example/s{n}", [*story(n), shared], title=f"Story {n}"), s)
    # Three pages within the window: boilerplate, stripped from each (the forgotten ones keep it).
    assert all(shared not in index[doc_id(f"http://herald.example/s{n}")].body for n in (2, 3, 4))


def test_a_teaser_seen_before_the_window_strips_no_line(backend_settings: SettingsFactory) -> None:
    s, clock = windowed(backend_settings(dedup={"window_days": 1}))
    index: dict[str, Document] = {}
    headline = "Council approves new ferry timetable for winter"
    teaser = Teaser(
        page_url="http://herald.example/",
        article_url="http://herald.example/ferries",
        text=headline + " lede",
        headline=headline,
    )
    s.observe_listing("herald.example", [teaser])
    clock.now += 3600
    within = doc("http://herald.example/a", [*story(1), headline], title="Story 1")
    apply(index, within, s)
    assert headline not in index[within.id].body  # teased lately: another article's headline
    clock.now += 2 * DAY_S
    after = doc("http://herald.example/b", [*story(2), headline], title="Story 2")
    apply(index, after, s)
    assert headline in index[after.id].body  # the teaser left the window


def test_a_weeks_long_crawl_keeps_a_bounded_store(backend_settings: SettingsFactory) -> None:
    """Stories keep coming, a hundred a day: after the window the store stops growing."""
    settings = backend_settings(dedup={"window_days": 2})
    s, clock = windowed(settings)
    index: dict[str, Document] = {}
    sizes = []
    n = 0
    for _day in range(6):
        for _ in range(100):
            n += 1
            host = f"outlet{n % 7}.example"
            apply(index, doc(f"http://{host}/a{n}", story(n), title=f"Story {n}"), s)
            clock.now += DAY_S / 100
        sizes.append(footprint(settings))
    assert sizes[1] > 1.5 * sizes[0]  # the window filling up
    assert max(sizes[3:]) < 1.2 * sizes[2]  # then as much leaves as comes
    assert all(d.duplicate_of is None for d in index.values())


def test_listing_pages_alone_keep_a_bounded_store(backend_settings: SettingsFactory) -> None:
    """Section pages revisited all day, new teasers on each: their counts leave with the window."""
    settings = backend_settings(dedup={"window_days": 2})
    s, clock = windowed(settings)
    sizes = []
    n = 0
    for _day in range(6):
        for _ in range(50):
            n += 1
            teasers = [
                Teaser(
                    page_url=f"http://outlet{n % 5}.example/section",
                    article_url=f"http://outlet{n % 5}.example/a{n}-{k}",
                    text=f"Teaser {n}-{k}: {' '.join(f'w{n}y{k}z{j}' for j in range(12))}",
                    headline=f"Headline {n}-{k} about the {k}th thing",
                )
                for k in range(4)
            ]
            s.observe_listing(f"outlet{n % 5}.example", teasers)
            clock.now += DAY_S / 50
        sizes.append(footprint(settings))
    assert sizes[1] > 1.5 * sizes[0]
    assert max(sizes[3:]) < 1.2 * sizes[2]


def test_a_store_written_before_the_window_is_upgraded(backend_settings: SettingsFactory) -> None:
    settings = backend_settings(dedup={"window_days": 1})
    legacy_bp = f"{settings.redis_prefix}:dedup:bp:herald.example:abc"
    if settings.dedup.backend == "redis":
        client = redis.Redis.from_url(settings.redis_url)
        client.sadd(legacy_bp, "http://herald.example/old")
        client.sadd(f"{settings.redis_prefix}:dedup:head:herald.example:abc", "http://herald.example/x")
        client.incr(f"{settings.redis_prefix}:dedup:headline-count")
        client.sadd(f"{settings.redis_prefix}:dedup:docs", "legacy-doc")
    else:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(settings.data_dir / "dedup.sqlite")
        db.execute(
            "CREATE TABLE block_pages (host TEXT NOT NULL, block TEXT NOT NULL, page_url TEXT NOT NULL,"
            " PRIMARY KEY (host, block, page_url)) WITHOUT ROWID"
        )
        db.execute("INSERT INTO block_pages VALUES ('herald.example', 'abc', 'http://herald.example/old')")
        db.execute(
            "CREATE TABLE headlines (host TEXT NOT NULL, block TEXT NOT NULL, article_url TEXT NOT NULL,"
            " PRIMARY KEY (host, block, article_url)) WITHOUT ROWID"
        )
        db.execute("INSERT INTO headlines VALUES ('herald.example', 'abc', 'http://herald.example/x')")
        db.commit()
        db.close()
    s, _ = windowed(settings)
    index: dict[str, Document] = {}
    original = doc("http://herald.example/story", STORY)
    apply(index, original, s)
    copy = doc("http://wire.example/copy", STORY, published=T0 + timedelta(hours=1))
    apply(index, copy, s)
    assert index[copy.id].duplicate_of == original.id
    # The old block counts (pages by URL, no times) are gone.
    if settings.dedup.backend == "redis":
        client = redis.Redis.from_url(settings.redis_url)
        assert not client.exists(legacy_bp, f"{settings.redis_prefix}:dedup:head:herald.example:abc")
        # An earlier document starts its window at the upgrade.
        assert client.zscore(f"{settings.redis_prefix}:dedup:seen", "legacy-doc") is not None
    else:
        db = sqlite3.connect(settings.data_dir / "dedup.sqlite")
        assert not db.execute("SELECT 1 FROM block_pages WHERE page_url LIKE 'http%'").fetchall()
        assert not db.execute("SELECT 1 FROM headlines").fetchall()
        db.close()
