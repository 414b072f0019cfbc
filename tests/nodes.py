"""Two real nodes on loopback for the tests: the Russian MoD and the US DoD, with files in a temporary folder."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from deconflict.models.geometry import Altitude, AltitudeReference, AltitudeUnit, Circle, LatLng, Volume3D, Volume4D
from deconflict.models.notice import AircraftCategory, FlightNotice, NoticeCategory, NoticeState
from deconflict.node.config import load_config
from deconflict.node.server import NodeServer

RU, US = "ru-mod", "us-dod"
CHANNEL = "ru-mod:us-dod"

AGREEMENT = """\
channel_id = "ru-mod:us-dod"
version = 1
parties = ["ru-mod", "us-dod"]
effective_time = 2015-10-20T00:00:00Z
minimum_lead_time = "PT1H"
clock_skew_tolerance = "PT30S"
heartbeat_interval = "PT{heartbeat}S"
missed_heartbeats_down = 3

[separation]
lateral_m = 10000.0
vertical_m = 300.0
time = "PT10M"

[[response_timers]]
kind = "NOTICE"
response_time = "PT{notice_timer}S"

[[response_timers]]
kind = "AMENDMENT"
response_time = "PT{notice_timer}S"

[[response_timers]]
kind = "CONFERENCE_PROPOSAL"
response_time = "PT{notice_timer}S"

[[frequencies]]
frequency_id = "guard-121.5"
khz = 121500
use = "GUARD"

[[frequencies]]
frequency_id = "guard-243.0"
khz = 243000
use = "GUARD"

[[priority_rules]]
category = "EMERGENCY"
overrides = ["ROUTINE"]
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Pair:
    ru: NodeServer
    us: NodeServer
    ru_address: str
    us_address: str
    folder: Path


def write_configs(
    folder: Path, *, policy_us: str = "automatic", notice_timer: int = 60, heartbeat: int = 1
) -> tuple[Path, Path, int, int]:
    """Agreement and node configs for both parties; their ports are chosen now, so each knows the other's."""
    (folder / "agreement.toml").write_text(AGREEMENT.format(notice_timer=notice_timer, heartbeat=heartbeat))
    ru_port, us_port = free_port(), free_port()
    for party, port, peer, peer_port, policy in (
        (RU, ru_port, US, us_port, "automatic"),
        (US, us_port, RU, ru_port, policy_us),
    ):
        (folder / f"{party}.toml").write_text(
            f'party = "{party}"\nlisten = "127.0.0.1:{port}"\njournal = "{party}.journal"\npolicy = "{policy}"\n\n'
            f'[[channels]]\npeer = "{peer}"\npeer_address = "127.0.0.1:{peer_port}"\nagreement = "agreement.toml"\n'
        )
    return folder / f"{RU}.toml", folder / f"{US}.toml", ru_port, us_port


@asynccontextmanager
async def two_nodes(folder: Path, **options: object) -> AsyncIterator[Pair]:
    ru_config, us_config, ru_port, us_port = write_configs(folder, **options)  # type: ignore[arg-type]
    ru, us = NodeServer(load_config(ru_config)), NodeServer(load_config(us_config))
    await ru.start()
    await us.start()
    try:
        yield Pair(ru, us, f"127.0.0.1:{ru_port}", f"127.0.0.1:{us_port}", folder)
    finally:
        await ru.stop(grace=0)
        await us.stop(grace=0)


def sortie(
    notice_id: str = "",
    *,
    latitude: float = 35.13,
    longitude: float = 36.75,
    start_in: timedelta = timedelta(hours=3),
    category: NoticeCategory = NoticeCategory.ROUTINE,
    owner: str = RU,
) -> FlightNotice:
    """A notice for one sortie: a 20 km circle, FL100 to FL200, an hour long."""
    start = datetime.now(UTC).replace(microsecond=0) + start_in
    level = AltitudeReference.STD
    return FlightNotice(
        notice_id=notice_id or "placeholder",
        version=1,
        state=NoticeState.ACTIVE,
        owner=owner,
        volumes=[
            Volume4D(
                volume=Volume3D(
                    circle=Circle(center=LatLng(latitude=latitude, longitude=longitude), radius_m=20_000),
                    altitude_lower=Altitude(value=100, reference=level, unit=AltitudeUnit.FLIGHT_LEVEL),
                    altitude_upper=Altitude(value=200, reference=level, unit=AltitudeUnit.FLIGHT_LEVEL),
                ),
                time_start=start,
                time_end=start + timedelta(hours=1),
            )
        ],
        aircraft_category=AircraftCategory.FIXED_WING,
        aircraft_count=4,
        frequency_ids=["guard-121.5"],
        category=category,
    )
