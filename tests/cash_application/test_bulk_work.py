"""The import's helpers: the collector paused for a batch and back as it was afterwards."""

from __future__ import annotations

import gc

import pytest

from service.cash_application.bulk_work import Clock, collector_paused


def test_the_collector_is_off_for_the_batch_and_back_on_after_it_even_when_it_fails():
    assert gc.isenabled()
    with pytest.raises(RuntimeError), collector_paused():
        assert not gc.isenabled()
        with collector_paused():  # nested: still off when the inner block ends
            pass
        assert not gc.isenabled()
        raise RuntimeError("the import failed")
    assert gc.isenabled()


def test_a_collector_someone_else_turned_off_stays_off():
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_a_clock_gives_wall_and_cpu_time_of_each_lap():
    clock = Clock()
    sum(range(200_000))
    wall, cpu = clock.lap()
    assert wall > 0 and cpu > 0
    assert clock.lap()[0] < wall + 1
