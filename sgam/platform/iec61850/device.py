"""A stand-in for the physical DER behind a hosted model, for scenarios and tests.

It is a simulation, not part of any standard: the inverter would deliver `available_w` (the sun
on the panels, or the battery's dispatch; negative means charging), and while the 7-420 DWMX
function is enabled (`DWMX1.ModEna`) its active power is capped at `WMaxSptPct` percent of the
rated power. Whenever a client changes the limit or enables/disables the function, and whenever
the available power changes, the measured `MMXU1.TotW` follows, and the server reports it.
"""

from __future__ import annotations

from sgam.platform.iec61850.cdc import Scalar
from sgam.platform.iec61850.server import AcsiServer

NEEDS = {"DWMX1.ModEna": "SPC", "DWMX1.WMaxSptPct": "ASG", "MMXU1.TotW": "MV"}  # data object -> its CDC


class SimulatedDer:
    def __init__(self, server: AcsiServer, rated_w: float, available_w: float) -> None:
        device = server.model.logical_devices[0]
        self.ld = f"{server.model.ied}{device.inst}"
        hosted = {f"{ln.name}.{do.name}": do.cdc for ln in device.logical_nodes for do in ln.data_objects}
        missing = [f"{ref} ({cdc})" for ref, cdc in NEEDS.items() if hosted.get(ref) != cdc]
        if missing:
            raise ValueError(f"simulating a DER needs {', '.join(missing)} in {self.ld}, which the model lacks")
        self.server = server
        self.rated_w = rated_w
        self.available_w = available_w
        server.on_write(self._written)
        self._follow()

    @property
    def limit_w(self) -> float | None:
        """The active power cap in force, or None while the limit function is disabled."""
        if self.server.value(f"{self.ld}/DWMX1.ModEna.stVal") is not True:
            return None
        percent = self.server.value(f"{self.ld}/DWMX1.WMaxSptPct.setMag.f")
        assert isinstance(percent, float)
        return self.rated_w * percent / 100

    def set_available(self, watts: float) -> None:
        self.available_w = watts
        self._follow()

    def _written(self, ref: str, value: Scalar) -> None:
        if ref.startswith(f"{self.ld}/DWMX1."):
            self._follow()

    def _follow(self) -> None:
        limit = self.limit_w
        power = self.available_w if limit is None else min(self.available_w, limit)
        self.server.update(f"{self.ld}/MMXU1.TotW", power)
