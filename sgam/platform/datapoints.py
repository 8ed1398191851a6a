"""The common data access library: typed data points addressed by common names.

Both protocol bindings read and write the same store, so an application sees one value per common
name (for example ``der.pv1.active_power``) whether it arrived in an OpenADR report or an IEC 61850
report. A point is declared once with its type and unit; every later write is checked against that
declaration, and subscribers hear about each change.
"""

from __future__ import annotations

import difflib
import enum
import logging
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

log = logging.getLogger(__name__)

Value = bool | int | float | str
"""The value types a data point may hold (the basic types both protocols can carry)."""

Listener = Callable[["DataPoint"], None]


class Quality(enum.Enum):
    """Validity of a value, after the IEC 61850-7-3 quality ``validity`` attribute (good/invalid/questionable)."""

    GOOD = "good"
    INVALID = "invalid"
    QUESTIONABLE = "questionable"


class DataAccessError(Exception):
    """A data point was addressed or written in a way its declaration does not allow."""


class UnknownDataPoint(DataAccessError, KeyError):
    def __init__(self, name: str, known: Iterable[str]) -> None:
        close = difflib.get_close_matches(name, list(known), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        super().__init__(f"no data point named {name!r}{hint}")
        self.name = name

    def __str__(self) -> str:  # KeyError would otherwise quote the whole message
        return str(self.args[0])


@dataclass(frozen=True)
class PointSpec:
    """What a common name holds: its Python type and its unit ('' for dimensionless or enumerations)."""

    name: str
    kind: type[bool | int | float | str]
    unit: str = ""
    description: str = ""

    def check(self, value: object) -> Value:
        """Return ``value`` as this point's type, or raise if it is not one (a bool is never a number here)."""
        if self.kind is float and isinstance(value, int | float) and not isinstance(value, bool):
            try:
                number = float(value)
            except OverflowError:  # an int beyond what a float holds
                number = math.inf
            if not math.isfinite(number):
                raise DataAccessError(f"data point {self.name!r} holds finite numbers, not {value!r}")
            return number
        if isinstance(value, self.kind) and (self.kind is bool or not isinstance(value, bool)):
            return value  # type: ignore[return-value]  # narrowed by the isinstance check above
        raise DataAccessError(
            f"data point {self.name!r} holds {self.kind.__name__}, not {type(value).__name__} ({value!r})"
        )


@dataclass(frozen=True)
class DataPoint:
    """One value of a common name, with its unit, quality and the time it was measured or set (UTC)."""

    name: str
    value: Value
    unit: str = ""
    quality: Quality = Quality.GOOD
    timestamp: datetime = field(default_factory=lambda: datetime.now(UTC))


class Subscription:
    """Handle returned by :meth:`DataStore.subscribe`; ``cancel()`` stops the notifications."""

    def __init__(self, store: DataStore, names: frozenset[str] | None, listener: Listener) -> None:
        self._store = store
        self.names = names
        self.listener = listener

    def cancel(self) -> None:
        self._store._subscriptions.pop(self, None)


class DataStore:
    """Typed data points by common name, with change notification.

    Listeners are called synchronously after each accepted write, in subscription order; a listener
    that raises is logged and does not stop the others or the write.
    """

    def __init__(self, specs: Iterable[PointSpec] = ()) -> None:
        self._specs: dict[str, PointSpec] = {}
        self._points: dict[str, DataPoint] = {}
        self._subscriptions: dict[Subscription, None] = {}  # insertion-ordered set
        for spec in specs:
            self.declare(spec)

    def declare(self, spec: PointSpec) -> None:
        known = self._specs.get(spec.name)
        if known is not None and known != spec:
            raise DataAccessError(f"data point {spec.name!r} is already declared as {known}")
        self._specs[spec.name] = spec

    def spec(self, name: str) -> PointSpec:
        try:
            return self._specs[name]
        except KeyError:
            raise UnknownDataPoint(name, self._specs) from None

    @property
    def names(self) -> list[str]:
        return list(self._specs)

    def __contains__(self, name: object) -> bool:
        return name in self._specs

    def get(self, name: str) -> DataPoint | None:
        """The latest point for ``name``, or None while nothing has been written (unknown names raise)."""
        self.spec(name)
        return self._points.get(name)

    def value(self, name: str) -> Value:
        point = self.get(name)
        if point is None:
            raise DataAccessError(f"data point {name!r} has no value yet")
        return point.value

    def set(
        self,
        name: str,
        value: object,
        *,
        quality: Quality = Quality.GOOD,
        timestamp: datetime | None = None,
    ) -> DataPoint:
        """Write a value; notify subscribers only when value or quality changed."""
        spec = self.spec(name)
        point = DataPoint(name, spec.check(value), spec.unit, quality, timestamp or datetime.now(UTC))
        previous = self._points.get(name)
        self._points[name] = point
        if previous is None or (previous.value, previous.quality) != (point.value, point.quality):
            self._notify(point)
        return point

    def put(self, point: DataPoint) -> DataPoint:
        """Write a point received from a peer; its unit must be the declared one."""
        spec = self.spec(point.name)
        if point.unit != spec.unit:
            raise DataAccessError(f"data point {point.name!r} is in {spec.unit!r}, not {point.unit!r}")
        return self.set(point.name, point.value, quality=point.quality, timestamp=point.timestamp)

    def subscribe(self, listener: Listener, names: Iterable[str] | None = None) -> Subscription:
        """Call ``listener`` with each changed point (of ``names`` only, if given)."""
        selected = None if names is None else frozenset(names)
        for name in selected or ():
            self.spec(name)
        subscription = Subscription(self, selected, listener)
        self._subscriptions[subscription] = None
        return subscription

    def snapshot(self, names: Iterable[str] | None = None) -> dict[str, DataPoint]:
        """The current points (of ``names``, each of which must be known and set)."""
        if names is None:
            return dict(self._points)
        result = {}
        for name in names:
            point = self.get(name)
            if point is None:
                raise DataAccessError(f"data point {name!r} has no value yet")
            result[name] = point
        return result

    def _notify(self, point: DataPoint) -> None:
        for subscription in list(self._subscriptions):
            if subscription.names is None or point.name in subscription.names:
                try:
                    subscription.listener(point)
                except Exception:  # one faulty listener must not break the write or the others
                    log.exception("listener for data point %r failed", point.name)

