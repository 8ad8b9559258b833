"""Properties of release decisions over random requests, including unknown values.

- deny by default: an allowed decision always rests on known parties, level and topic, a
  recipient in Releasable To, and an agreement that allows new exchanges at that instant;
- raising the level never turns a denial into an allowance;
- removing a party from Releasable To never allows more.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise

from hypothesis import given
from hypothesis import strategies as st

from gsomia.agreements import Event, EventKind, status_at
from gsomia.catalog import builtin_registry, with_events
from gsomia.policy import release
from tests.conftest import make_label

REG = builtin_registry()
# A second world in which the ROK–JPN agreement ends on 23 Nov 2024 (hypothetical notice).
ENDED = with_events(
    REG,
    "kor-jpn-gsomia-2016",
    [Event(EventKind.NOTICE_GIVEN, datetime(2024, 1, 1, tzinfo=UTC), by="JPN", hypothetical=True)],
)
PARTIES = ["KOR", "JPN", "USA", "XYZ"]
TOPICS = ["NK-MISSILE", "NK-NUCLEAR", "MARITIME-SECURITY", "NK-SPACE"]
LEVELS = {
    "KOR": ["군사III급비밀", "군사II급비밀", "군사I급비밀"],
    "JPN": ["秘", "極秘", "特定秘密", "機密"],
    "USA": ["CONFIDENTIAL", "SECRET", "TOP SECRET"],
    "XYZ": ["SECRET"],
}

instants = st.datetimes(
    min_value=datetime(2013, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)
)
worlds = st.sampled_from([REG, ENDED])


@st.composite
def requests(draw):
    sender = draw(st.sampled_from(PARTIES))
    recipient = draw(st.sampled_from(PARTIES))
    level = draw(st.sampled_from([*LEVELS[sender], "UNKNOWN-LEVEL"]))
    topic = draw(st.sampled_from(TOPICS))
    rel_to = draw(st.sets(st.sampled_from(PARTIES), min_size=1))
    label_topics = draw(st.sampled_from([(topic,), (), ("NK-NUCLEAR",)]))
    return sender, recipient, level, topic, tuple(sorted(rel_to)), label_topics


def decide(world, sender, recipient, level, topic, rel_to, label_topics, instant):
    label = make_label(level=level, originator=sender, rel_to=rel_to, topics=label_topics)
    return release(world, label, sender, recipient, topic, instant)


@given(world=worlds, request=requests(), instant=instants)
def test_allowed_only_on_positive_grounds(world, request, instant):
    sender, recipient, level, topic, rel_to, label_topics = request
    d = decide(world, sender, recipient, level, topic, rel_to, label_topics, instant)
    if not d.allowed:
        assert d.reasons, "a denial always says why"
        return
    assert sender in world.parties
    assert recipient in world.parties
    assert world.scheme_of(sender).find(level) is not None
    assert topic in world.topics
    assert recipient in rel_to
    assert set(d.path) <= set(rel_to) | {sender}
    assert d.path[0] == sender
    assert d.path[-1] == recipient
    assert d.agreement is not None
    assert status_at(world.timeline(d.agreement), instant).exchange_allowed
    assert len(d.markings) == len(d.path)


@given(world=worlds, request=requests(), instant=instants)
def test_raising_the_level_never_allows_more(world, request, instant):
    sender, recipient, _, topic, rel_to, label_topics = request
    levels = LEVELS[sender]
    allowed = [
        decide(world, sender, recipient, lv, topic, rel_to, label_topics, instant).allowed
        for lv in levels
    ]
    # levels are listed from least to most sensitive: once denied, denied above
    for lower, higher in pairwise(allowed):
        assert lower or not higher


@given(world=worlds, request=requests(), instant=instants, drop=st.sampled_from(PARTIES))
def test_narrowing_releasable_to_never_allows_more(world, request, instant, drop):
    sender, recipient, level, topic, rel_to, label_topics = request
    narrower = tuple(p for p in rel_to if p != drop)
    if not narrower:
        return
    wide = decide(world, sender, recipient, level, topic, rel_to, label_topics, instant)
    narrow = decide(world, sender, recipient, level, topic, narrower, label_topics, instant)
    assert wide.allowed or not narrow.allowed


@given(request=requests(), instant=instants, step=st.integers(1, 10**8))
def test_decisions_are_deterministic_and_time_is_an_argument(request, instant, step):
    sender, recipient, level, topic, rel_to, label_topics = request
    first = decide(REG, sender, recipient, level, topic, rel_to, label_topics, instant)
    later = instant + timedelta(seconds=step)
    decide(REG, sender, recipient, level, topic, rel_to, label_topics, later)
    again = decide(REG, sender, recipient, level, topic, rel_to, label_topics, instant)
    assert first == again
