"""The common data access library: typed points by common name, with change notification."""

from datetime import UTC, datetime

import pytest

from sgam.platform.datapoints import DataAccessError, DataPoint, DataStore, PointSpec, Quality, UnknownDataPoint


@pytest.fixture
def store() -> DataStore:
    return DataStore(
        [
            PointSpec("der.pv1.active_power", float, "W"),
            PointSpec("der.pv1.active_power_limit", float, "%"),
            PointSpec("der.pv1.limit_enabled", bool),
        ]
    )


def test_a_written_value_comes_back_with_its_declared_unit_and_quality(store: DataStore) -> None:
    when = datetime(2026, 1, 1, 12, tzinfo=UTC)
    store.set("der.pv1.active_power", 1234.5, timestamp=when)
    assert store.get("der.pv1.active_power") == DataPoint("der.pv1.active_power", 1234.5, "W", Quality.GOOD, when)
    assert store.value("der.pv1.active_power") == 1234.5


def test_an_int_is_accepted_as_a_float_but_a_bool_is_not_a_number(store: DataStore) -> None:
    assert store.set("der.pv1.active_power", 7).value == 7.0
    assert isinstance(store.value("der.pv1.active_power"), float)
    with pytest.raises(DataAccessError, match="holds float, not bool"):
        store.set("der.pv1.active_power", True)
    with pytest.raises(DataAccessError, match="holds bool, not int"):
        store.set("der.pv1.limit_enabled", 1)


def test_an_unknown_name_is_refused_with_the_closest_known_name(store: DataStore) -> None:
    with pytest.raises(UnknownDataPoint, match="did you mean 'der.pv1.active_power'"):
        store.set("der.pv1.activ_power", 1.0)
    with pytest.raises(UnknownDataPoint):
        store.get("nothing.like.it")


def test_a_point_from_a_peer_must_carry_the_declared_unit(store: DataStore) -> None:
    with pytest.raises(DataAccessError, match="is in 'W', not 'kW'"):
        store.put(DataPoint("der.pv1.active_power", 1.2, "kW"))
    assert store.get("der.pv1.active_power") is None


def test_subscribers_hear_each_change_of_the_names_they_chose_and_nothing_else(store: DataStore) -> None:
    heard: list[DataPoint] = []
    subscription = store.subscribe(heard.append, ["der.pv1.active_power"])
    store.set("der.pv1.active_power", 10.0)
    store.set("der.pv1.active_power", 10.0)  # unchanged: no notification
    store.set("der.pv1.active_power", 10.0, quality=Quality.INVALID)  # quality changed: notified
    store.set("der.pv1.active_power_limit", 50.0)  # not subscribed
    assert [(p.value, p.quality) for p in heard] == [(10.0, Quality.GOOD), (10.0, Quality.INVALID)]
    subscription.cancel()
    store.set("der.pv1.active_power", 11.0)
    assert len(heard) == 2


def test_a_failing_listener_neither_stops_the_write_nor_the_other_listeners(store: DataStore) -> None:
    def broken(point: DataPoint) -> None:
        raise RuntimeError("listener bug")

    heard: list[DataPoint] = []
    store.subscribe(broken)
    store.subscribe(heard.append)
    store.set("der.pv1.limit_enabled", True)
    assert store.value("der.pv1.limit_enabled") is True
    assert [p.name for p in heard] == ["der.pv1.limit_enabled"]


def test_a_name_cannot_be_declared_twice_with_another_type(store: DataStore) -> None:
    store.declare(PointSpec("der.pv1.active_power", float, "W"))  # same declaration: fine
    with pytest.raises(DataAccessError, match="already declared"):
        store.declare(PointSpec("der.pv1.active_power", float, "kW"))


def test_a_snapshot_refuses_names_without_a_value(store: DataStore) -> None:
    store.set("der.pv1.active_power", 5.0)
    assert list(store.snapshot(["der.pv1.active_power"])) == ["der.pv1.active_power"]
    with pytest.raises(DataAccessError, match="has no value yet"):
        store.snapshot(["der.pv1.active_power_limit"])


@pytest.mark.parametrize("number", [float("nan"), float("inf"), -float("inf"), 10**400], ids=["nan", "inf", "-inf", "10**400"])
def test_a_number_must_be_finite(store: DataStore, number: float) -> None:
    # No protocol can carry it, and NaN never equals itself: every write would notify as a change.
    heard: list[DataPoint] = []
    store.subscribe(heard.append)
    with pytest.raises(DataAccessError, match="holds finite numbers"):
        store.set("der.pv1.active_power", number)
    assert store.get("der.pv1.active_power") is None and heard == []
