"""Fair shares: the order users are served within a priority, and the state every worker advances (real Redis)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from redis import Redis

from store.fairshare import Candidate, FairState, fair_order, record_served
from tests.conftest import RedisServer


@pytest.fixture
def redis(redis_server: RedisServer) -> Iterator[Redis]:
    client = Redis.from_url(redis_server.url)
    yield client
    client.close()


def jobs(*owners: str, weight: float = 1.0) -> list[Candidate]:
    return [Candidate(f"{owner}{i}", i, {"owner": owner, "weight": weight}) for i, owner in enumerate(owners)]


def owners(ordered: list[Candidate]) -> str:
    return "".join(c.owner for c in ordered)


def test_users_are_served_in_turn_in_the_order_they_first_queued() -> None:
    queued = jobs(*"aaaaab" + "b" + "c")
    assert owners(fair_order(queued, FairState({}))) == "abcabaaa"


def test_a_user_of_weight_two_gets_two_turns_per_round() -> None:
    queued = [Candidate(f"h{i}", i, {"owner": "h", "weight": 2}) for i in range(4)]
    queued += [Candidate(f"l{i}", 4 + i, {"owner": "l"}) for i in range(4)]
    assert owners(fair_order(queued, FairState({}))) == "hlhhlhll"  # 4 of h to 2 of l in the first six


def test_a_user_back_after_a_pause_starts_at_the_clock_without_a_burst() -> None:
    # 'b' was last served long ago (tag 1), 'a' is in the middle of a long run: they alternate, b no more often.
    state = FairState({"a": 50.0, "b": 1.0}, clock=49.0)
    assert owners(fair_order(jobs(*"aaabbb"), state)) == "bababa"


def test_record_served_advances_the_shared_state_like_the_order_predicts(redis: Redis) -> None:
    queue = uuid.uuid4().hex
    queued = jobs(*"aaaab")
    predicted = fair_order(queued, FairState.read(redis, queue))
    taken = []
    remaining = list(queued)
    while remaining:  # each worker round: the head of the fair order, then the state moves on
        head = fair_order(remaining, FairState.read(redis, queue))[0]
        record_served(redis, queue, head.owner, head.weight)
        taken.append(head)
        remaining.remove(head)
    assert [c.job_id for c in taken] == [c.job_id for c in predicted]
    state = FairState.read(redis, queue)
    assert state.tags == {"a": 4.0, "b": 1.0} and state.clock == 3.0


def test_control_tasks_have_no_model_and_bad_weights_count_as_one() -> None:
    control = Candidate("x", 0, {"action": "load", "model": "tiny"})
    assert control.model is None
    assert Candidate("y", 0, {"model": "tiny", "weight": "heavy"}).weight == 1.0
