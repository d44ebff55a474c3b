"""A room across two replicas behind HAProxy, shared through Debian's redis-server (ADJOINT_REDIS_URL), in a real
Chromium: a teacher on replica r1 and followers on both replicas draw the teacher's live charts; with Redis
stopped mid-lesson the other replica's followers are told the room's connection is lost while every run keeps
training, and the room comes back with Redis; the teacher's replica killed, its followers elsewhere are told the
teacher left. Each browser is pinned to a replica by HAProxy's own affinity cookie (SERVERID)."""

from __future__ import annotations

import re

import pytest
import redis
from playwright.sync_api import BrowserContext, Page, expect
from scaleout_cluster import RedisServer, free_port, start_cluster
from test_follow_browser import BOARD_SLOTS, open_room
from test_replicas import LONG, VIEWPORT, assert_no_exception, serverid, steps, wait_for_app_run

from browser_helpers import assert_charts_drawn, save_screenshot
from ui.classroom import room_bus

TOLD_WITHIN = 10_000   # ms: what the issue promises a follower


def on_replica(chromium, cluster, name: str) -> tuple[BrowserContext, Page]:
    """A new visitor whose requests HAProxy sends to replica ``name`` (its affinity cookie set beforehand)."""
    context = chromium.new_context(viewport=VIEWPORT)
    context.add_cookies([{"name": "SERVERID", "value": name, "url": cluster.url}])
    return context, context.new_page()


def follow(page: Page, url: str, code: str) -> None:
    page.goto(f"{url}/?follow={code}", timeout=LONG)
    expect(page.get_by_text(f"Following room {code}")).to_be_visible(timeout=LONG)


def advancing(page: Page) -> None:
    """The page's Step counter moves on."""
    before = steps(page)
    expect(page.get_by_test_id("stMetricValue").first).not_to_have_text(re.compile(f"^{before:,}$"), timeout=LONG)


def play(page: Page) -> None:
    page.get_by_role("button", name="Play", exact=True).dispatch_event("click")
    expect(page.get_by_role("button", name="Pause", exact=True)).to_be_visible(timeout=LONG)


def teacher_and_follower(visit, cluster) -> tuple[Page, Page, str]:
    """A teacher on r1 playing in an open room, and a follower on r2 drawing its live charts; and the room's code."""
    _, teacher = visit(cluster, "r1")
    _, follower = visit(cluster, "r2")
    code = open_room(teacher, cluster.url)
    play(teacher)
    follow(follower, cluster.url, code)
    assert_charts_drawn(follower, BOARD_SLOTS, timeout=LONG)
    return teacher, follower, code


@pytest.fixture
def visit(chromium):
    """visit(cluster, name) -> (context, page): a new visitor pinned to replica ``name``; all closed after the test."""
    contexts = []

    def open_visitor(cluster, name: str) -> tuple[BrowserContext, Page]:
        context, page = on_replica(chromium, cluster, name)
        contexts.append(context)
        return context, page

    yield open_visitor
    for context in contexts:
        context.close()


@pytest.fixture(scope="module")
def redis_cluster(haproxy, tmp_path_factory):
    """redis-server and two replicas configured with it, behind HAProxy, for this module's first tests."""
    folder = tmp_path_factory.mktemp("redis-cluster")
    server = RedisServer(free_port(), folder / "redis.log")
    server.start()
    try:
        cluster = start_cluster(haproxy, folder, 2, {room_bus.URL_ENV: server.url})
        try:
            yield cluster, server
        finally:
            cluster.stop()
    finally:
        server.stop()


def test_followers_on_both_replicas_draw_the_teachers_live_charts(visit, redis_cluster):
    cluster, _ = redis_cluster
    _, teacher = visit(cluster, "r1")
    code = open_room(teacher, cluster.url)
    play(teacher)
    followers = []
    for name in ("r1", "r2"):
        ctx, page = visit(cluster, name)
        follow(page, cluster.url, code)
        assert serverid(ctx) == name
        followers.append(page)
    for page in followers:
        assert_charts_drawn(page, BOARD_SLOTS, timeout=LONG)
        assert page.locator("div[data-chart]").count() == BOARD_SLOTS
        advancing(page)
        assert_no_exception(page)
    save_screenshot(followers[1], "redis_follower_on_r2", full_page=False)

    followers[1].get_by_role("button", name="Take a copy").click()   # from the other replica: through Redis
    expect(followers[1].get_by_text("it is now your own run")).to_be_visible(timeout=LONG)
    assert_charts_drawn(followers[1], 5, timeout=LONG)
    assert steps(followers[1]) > 0


def test_a_class_spread_over_both_replicas_shows_on_one_class_page(visit, redis_cluster):
    cluster, _ = redis_cluster
    _, teacher = visit(cluster, "r1")
    code = open_room(teacher, cluster.url)
    students = []
    for name in ("r1", "r2"):
        ctx, page = visit(cluster, name)
        page.goto(f"{cluster.url}/?join={code}&epochs=100000", timeout=LONG)
        expect(page.get_by_text(f"In class {code} as Student")).to_be_visible(timeout=LONG)
        assert serverid(ctx) == name
        play(page)
        students.append((ctx, page))
    teacher.get_by_role("link", name="Class").click()
    cards = teacher.locator("li.abp-card")
    expect(cards).to_have_count(2, timeout=LONG)
    expect(teacher.get_by_text("2 students in class (2 playing")).to_be_visible(timeout=LONG)
    assert_charts_drawn(teacher, 2, timeout=LONG)
    save_screenshot(teacher, "redis_class_page", full_page=False)

    teacher.get_by_role("button", name="Pause the class").click()   # reaches r2 through the room's meta
    for _, page in students:
        expect(page.get_by_text("Your teacher paused the class")).to_be_visible(timeout=LONG)
        expect(page.get_by_role("button", name="Play", exact=True)).to_be_visible(timeout=LONG)
        assert_no_exception(page)

    students[1][0].close()   # the student on r2 closes the tab
    expect(cards).to_have_count(1, timeout=TOLD_WITHIN + 2_000)
    assert_no_exception(teacher)


def test_redis_stopped_mid_lesson_is_told_runs_train_on_and_the_room_comes_back(visit, redis_cluster):
    cluster, server = redis_cluster
    teacher, follower, _ = teacher_and_follower(visit, cluster)
    _, student = visit(cluster, "r2")
    student.goto(f"{cluster.url}/?epochs=100000", timeout=LONG)
    wait_for_app_run(student)
    play(student)

    server.stop()
    expect(follower.get_by_text("Room connection lost")).to_be_visible(timeout=TOLD_WITHIN)
    save_screenshot(follower, "redis_lost_follower", full_page=False)
    advancing(teacher)
    advancing(student)
    assert_no_exception(follower)

    server.start()   # an empty Redis: the teacher's replica publishes the room again
    expect(follower.get_by_text("Room connection lost")).to_have_count(0, timeout=LONG)
    advancing(follower)
    assert_charts_drawn(follower, BOARD_SLOTS, timeout=LONG)
    assert_no_exception(follower)


def test_the_teachers_replica_killed_its_followers_elsewhere_are_told(visit, new_cluster, redis_server):
    cluster = new_cluster(2, {room_bus.URL_ENV: redis_server.url})
    _, follower, code = teacher_and_follower(visit, cluster)

    cluster.kill("r1")
    expect(follower.get_by_text(f"room {code} has closed: the teacher left")).to_be_visible(timeout=TOLD_WITHIN)
    assert_no_exception(follower)
    keys = [k.decode() for k in redis.Redis.from_url(redis_server.url).keys(f"*{code}*")]
    assert keys == [], "the dead replica's room expired from Redis"   # (the teacher never closed it)
