"""run_ahead: in order, really overlapped, bounded, and clean when stopped early."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from vcam.offline.ahead import run_ahead


def test_results_come_in_order_with_their_items() -> None:
    assert list(run_ahead(range(20), lambda i: i * i)) == [(i, i * i) for i in range(20)]
    assert list(run_ahead([], lambda i: i)) == []


def test_the_next_step_runs_while_the_caller_works_on_this_one() -> None:
    """No clocks: item 1's step must finish while the caller still holds item 0.
    Run one after the other, the caller would wait for it in vain."""
    caller_has_0, step_1_done = threading.Event(), threading.Event()

    def step(i: int) -> int:
        if i == 1:
            assert caller_has_0.wait(5)
            step_1_done.set()
        return i

    for item, _ in run_ahead(range(2), step):
        if item == 0:
            caller_has_0.set()
            assert step_1_done.wait(5)
    assert step_1_done.is_set()


def test_the_step_stays_on_one_worker_thread() -> None:
    seen = [t for _, t in run_ahead(range(10), lambda i: threading.get_ident())]
    assert len(set(seen)) == 1
    assert seen[0] != threading.get_ident()


def test_the_source_is_never_read_far_ahead() -> None:
    pulled = 0

    def source() -> Iterator[int]:
        nonlocal pulled
        for i in range(1000):
            pulled += 1
            yield i

    for item, _ in run_ahead(source(), lambda i: i):
        assert pulled <= item + 2


def test_a_failing_step_raises_at_its_item() -> None:
    def step(i: int) -> int:
        if i == 3:
            raise ValueError("bad frame 3")
        return i

    got = []
    with pytest.raises(ValueError, match="bad frame 3"):
        for item, _ in run_ahead(range(10), step):
            got.append(item)
    assert got == [0, 1, 2]


def test_stopping_early_leaves_no_worker_behind() -> None:
    done: list[int] = []

    def step(i: int) -> int:
        done.append(i)
        return i

    it = run_ahead(range(100), step, name="stop-test")
    for item, _ in it:
        if item == 5:
            break
    it.close()  # type: ignore[attr-defined]
    assert not [t for t in threading.enumerate() if t.name.startswith("stop-test")]
    assert len(done) <= 8  # the steps not started were cancelled
