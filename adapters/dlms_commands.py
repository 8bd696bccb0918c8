"""Commands carried out on meters over DLMS, behind the HeadEnd's MeterCommandPort.

Reads go through the collection use case (so a read-now records its intervals like a
scheduled read); every other command opens one management association (LLS or HLS-GMAC,
as the registry says) and SETs attributes or invokes methods. The result dict is what
the DeviceCommand records as its outcome; meter failures are translated into the
application's terms (CommandRefused, CommandNotAnswered).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from gurux_dlms.objects import (
    GXDLMSActionSchedule,
    GXDLMSActivityCalendar,
    GXDLMSAssociationLogicalName,
    GXDLMSClock,
    GXDLMSDemandRegister,
    GXDLMSDisconnectControl,
    GXDLMSLimiter,
    GXDLMSProfileGeneric,
    GXDLMSPushSetup,
)

from adapters.dlms import obis, schedule_values
from adapters.dlms.cosem_datetime import decode_cosem_datetime
from adapters.dlms.errors import (
    AccessRefused,
    AssociationRejected,
    DlmsError,
    FrameError,
    MeterTimeout,
    MeterUnreachable,
)
from adapters.dlms.firmware_upgrade import transfer_image
from adapters.dlms.frame_capture import FrameRecorder
from adapters.dlms.hls import HlsKeys
from adapters.dlms.invocation_counters import InMemoryInvocationCounters, InvocationCounterStore
from adapters.dlms.session import CosemSession, MeterEndpoint
from adapters.dlms.session_gate import GatedSession, SessionGate
from adapters.dlms.session_limits import SessionLimitBusy
from adapters.dlms.typed_data import (
    DateTime,
    DoubleLongUnsigned,
    Enum,
    Integer,
    LongUnsigned,
    OctetString,
    Structure,
    TypedValue,
)
from adapters.dlms_collection import DEFAULT_HES_SYSTEM_TITLE
from adapters.dlms_key_change import change_keys
from adapters.dlms_reads import events, registers, thresholds
from application.collection import Collection
from application.head_end import CommandNotAnswered, CommandRefused, MeterNotReached
from domain.provenance import Provenance

# The energy column of the load profile that metered channels are fed from.
LOAD_PROFILE_ENERGY = "1.0.1.29.0.255"
DEFAULT_MAX_DRIFT_SECONDS = 10
SECRET_CHANGED = Provenance(
    actor="hes-head-end", reason="password changed on the meter", source="system"
)
_CONTROL_STATES = {0: "disconnected", 1: "connected", 2: "ready_for_reconnection"}
# Not in the COSEM model of disconnect control (class 70) nor limiter (class 71): meters
# keep such parameters in manufacturer-specific objects, which this HES does not know.
_NOT_IN_OBJECT_MODEL = ("set_auto_reconnect", "set_lockout_period")
# The command a session is opened for: its purpose in the communication log.
_COMMAND: ContextVar[str] = ContextVar("dlms_command", default="command")
# An image transfer may take long on a slow link: only its I/O timeouts bound it.
_NO_SESSION_DEADLINE = ("firmware_upgrade",)

_SCRIPTS = {obis.DISCONNECT_SCRIPT: "disconnect", obis.RECONNECT_SCRIPT: "reconnect"}
_SCRIPT_TABLE_OCTETS = bytes(int(part) for part in obis.DISCONNECT_SCRIPT_TABLE.split("."))


def _action(selector: int | None) -> Structure:
    """A limiter action item: the script table's script, or none (zeros)."""
    if selector is None:
        return Structure([OctetString(bytes(6)), LongUnsigned(0)])
    return Structure([OctetString(_SCRIPT_TABLE_OCTETS), LongUnsigned(selector)])


def _actions_of(value: Any) -> tuple[Any, Any]:
    """The two action items as the meter holds them (gurux gives them as lists)."""
    if isinstance(value, list | tuple) and len(value) == 2:
        return value[0], value[1]
    raise CommandRefused(f"the limiter answered its actions as {value!r}")


def _script_named(action: Any) -> str:
    """What an action item runs: disconnect, reconnect, none, or the script it names."""
    script, selector = [*list(action), None, None][:2]
    name = bytes(script or b"")
    if not any(name) and not selector:
        return "none"
    if name == _SCRIPT_TABLE_OCTETS and selector in _SCRIPTS:
        return _SCRIPTS[selector]
    return f"{'.'.join(str(octet) for octet in name)} script {selector}"


class FirmwareImages:
    """Firmware images as files in one directory; a command names one by file name."""

    _NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)

    def load(self, image_id: str) -> bytes:
        # A name, never a path: the operator's parameter must not reach other files.
        if not self._NAME.match(image_id):
            raise CommandRefused(f"image_id {image_id!r} is not a plain file name")
        path = self.directory / image_id
        if not path.is_file():
            raise CommandRefused(f"no firmware image {image_id!r} in the image store")
        return path.read_bytes()


class DlmsCommandPort:
    def __init__(
        self,
        collection: Collection,
        channels_of_meter: Callable[[str], list[dict[str, Any]]],
        *,
        firmware_images: FirmwareImages | None = None,
        timeout: float = 10.0,
        frame_recorder: FrameRecorder | None = None,
        gate: SessionGate | None = None,
    ) -> None:
        self.collection = collection
        # Raw frames of every command session are kept when a recorder is given.
        self.frame_recorder = frame_recorder
        # The meter directory (a read model) knows which channels a meter feeds.
        self.channels_of_meter = channels_of_meter
        # Without an explicit store, HES_FIRMWARE_DIR names the image directory.
        configured = os.environ.get("HES_FIRMWARE_DIR")
        if firmware_images is None and configured:
            firmware_images = FirmwareImages(configured)
        self.firmware_images = firmware_images
        self.timeout = timeout
        # Ciphered sessions share the reads' system title and replay counters: one HES,
        # one view of every meter's invocation counter.
        source = collection.source
        self.system_title: bytes = getattr(source, "system_title", DEFAULT_HES_SYSTEM_TITLE)
        counters = getattr(source, "counters", None)
        self.counters: InvocationCounterStore = counters or InMemoryInvocationCounters()
        # ... and the reads' session limits and communication log.
        self.gate: SessionGate = gate or getattr(source, "gate", None) or SessionGate()

    async def execute(
        self, serial: str, command_type: str, parameters: Mapping[str, Any]
    ) -> dict[str, Any]:
        if command_type in _NOT_IN_OBJECT_MODEL:
            raise CommandRefused(
                f"{command_type}: the COSEM disconnect control and limiter classes have no "
                "such parameter; the simulated meters offer no manufacturer object for it"
            )
        handler = getattr(self, f"_{command_type}", None)
        if handler is None:
            raise CommandRefused(f"{command_type} is not supported over DLMS yet")
        purpose = _COMMAND.set(command_type)
        try:
            result: dict[str, Any] = await handler(serial, parameters)
        except MeterTimeout as error:
            raise CommandNotAnswered(str(error)) from None
        except SessionLimitBusy as error:
            raise MeterNotReached(str(error)) from None
        except MeterUnreachable as error:
            raise MeterNotReached(f"meter unreachable: {error}") from None
        except FrameError as error:
            raise MeterNotReached(f"garbled answer: {error}") from None
        except AssociationRejected as error:
            raise CommandRefused(f"association rejected: {error}") from None
        except AccessRefused as error:
            raise CommandRefused(f"refused by the meter: {error}") from None
        except DlmsError as error:
            raise CommandRefused(str(error)) from None
        except OSError as error:
            raise MeterNotReached(f"meter unreachable: {error.strerror or error}") from None
        finally:
            _COMMAND.reset(purpose)
        return result

    def session(self, serial: str) -> GatedSession:
        """A management association with the meter, with the secrets of today, opened
        through the session gate (limits, deadline, communication log)."""
        today = datetime.now(UTC).date()
        meter = self.collection.registry.get("meter", serial).attributes_on(today)
        address = self.collection.address_of(serial, meter, today)
        security = None
        if address.security_profile == "hls-gmac":
            if not (address.block_cipher_key and address.authentication_key):
                raise CommandRefused(f"meter {serial} has no HLS keys in the vault")
            security = HlsKeys(
                self.system_title, address.block_cipher_key, address.authentication_key
            )
        elif not address.password:
            raise CommandRefused(f"meter {serial} has no management secret: commands need one")
        endpoint = MeterEndpoint(address.host, address.port, framing=address.framing)  # type: ignore[arg-type]

        def open_session(recorder: FrameRecorder) -> CosemSession:
            return CosemSession(
                endpoint,
                password=address.password if security is None else None,
                timeout=self.timeout,
                security=security,
                counters=self.counters,
                frame_recorder=recorder,
                meter_serial=serial,
            )

        purpose = _COMMAND.get()
        return GatedSession(
            self.gate,
            serial,
            purpose,
            open_session,
            frame_recorder=self.frame_recorder,
            deadline=None if purpose in _NO_SESSION_DEADLINE else self.gate.default_deadline,
        )

    # --- reads ---------------------------------------------------------------------------

    async def _read_now(self, serial: str, parameters: Mapping[str, Any]) -> dict[str, Any]:
        end = datetime.now(UTC)
        start = end - timedelta(days=int(parameters.get("days", 1)))
        recorded = 0
        for channel_key in self._channels_of(serial):
            outcome = await self.collection.collect_load_profile(serial, channel_key, start, end)
            recorded += outcome.intervals
        return {"new_intervals": recorded, "from": start.isoformat(), "to": end.isoformat()}

    async def _read_registers(self, serial: str, parameters: Mapping[str, Any]) -> dict[str, Any]:
        async with self.session(serial) as session:
            return await registers(session, parameters, datetime.now(UTC))

    async def _read_events(self, serial: str, parameters: Mapping[str, Any]) -> dict[str, Any]:
        async with self.session(serial) as session:
            return await events(session, parameters, datetime.now(UTC))

    def _channels_of(self, serial: str) -> list[str]:
        keys = [
            channel["channel_key"]
            for channel in self.channels_of_meter(serial)
            if channel.get("kind") == "metered"
            and channel.get("meter_channel") == LOAD_PROFILE_ENERGY
        ]
        if not keys:
            raise CommandRefused(f"meter {serial} feeds no metered load-profile channel")
        return keys

    # --- supply relay ----------------------------------------------------------------------

    async def _connect(self, serial: str, parameters: Mapping[str, Any]) -> dict[str, Any]:
        return await self._relay(serial, method=2)

    async def _disconnect(self, serial: str, parameters: Mapping[str, Any]) -> dict[str, Any]:
        return await self._relay(serial, method=1)

    async def _set_control_mode(self, serial: str, parameters: Mapping[str, Any]) -> dict[str, Any]:
        return await self._relay(serial, mode=int(parameters["mode"]))

    async def _relay(
        self, serial: str, *, method: int | None = None, mode: int | None = None
    ) -> dict[str, Any]:
        relay = GXDLMSDisconnectControl(obis.DISCONNECT_CONTROL)
        async with self.session(serial) as session:
            if mode is not None:
                await session.set(relay, 4, Enum(mode))
            if method is not None:
                await session.act(relay, method, Integer(0))
            output = await session.get(relay, 2)
            state = int(await session.get(relay, 3))
            control_mode = int(await session.get(relay, 4))
        return {
            "output_state": bool(output),
            "control_state": _CONTROL_STATES.get(state, str(state)),
            "control_mode": control_mode,
        }

    # --- clock -----------------------------------------------------------------------------

    async def _sync_clock(self, serial: str, parameters: Mapping[str, Any]) -> dict[str, Any]:
        limit = int(parameters.get("max_drift_seconds", DEFAULT_MAX_DRIFT_SECONDS))
        clock = GXDLMSClock(obis.CLOCK)
        async with self.session(serial) as session:
            asked = datetime.now(UTC)
            raw = await session.get(clock, 2)
            answered = datetime.now(UTC)
            meter_time = decode_cosem_datetime(raw)
            if meter_time is None:
                raise CommandRefused(f"meter {serial} has no valid clock (read as null)")
            # The meter's clock was read somewhere between asking and the answer.
            hes_time = asked + (answered - asked) / 2
            drift = (meter_time - hes_time).total_seconds()
            adjusted = abs(drift) > limit
            if adjusted:
                await session.set(clock, 2, DateTime(datetime.now(UTC)))
        return {
            "meter_time": meter_time.isoformat(),
            "hes_time": hes_time.isoformat(),
            "drift_seconds": round(drift, 3),
            "max_drift_seconds": limit,
            "adjusted": adjusted,
        }

    async def _set_clock(self, serial: str, parameters: Mapping[str, Any]) -> dict[str, Any]:
        moment = datetime.fromisoformat(str(parameters["time"])).astimezone(UTC)
        clock = GXDLMSClock(obis.CLOCK)
        async with self.session(serial) as session:
            await session.set(clock, 2, DateTime(moment))
            meter_time = decode_cosem_datetime(await session.get(clock, 2))
        return {"set_to": moment.isoformat(), "meter_time": _iso(meter_time)}

    # --- settings --------------------------------------------------------------------------

    async def _set_capture_period(
        self, serial: str, parameters: Mapping[str, Any]
    ) -> dict[str, Any]:
        seconds = int(parameters["minutes"]) * 60
        profile = GXDLMSProfileGeneric(obis.LOAD_PROFILE)
        read_back = await self._set_and_read(serial, profile, 4, DoubleLongUnsigned(seconds))
        return {"capture_period_seconds": read_back}

    async def _set_demand_period(
        self, serial: str, parameters: Mapping[str, Any]
    ) -> dict[str, Any]:
        seconds = int(parameters["minutes"]) * 60
        register = GXDLMSDemandRegister(obis.DEMAND_REGISTER)
        read_back = await self._set_and_read(serial, register, 8, DoubleLongUnsigned(seconds))
        return {"demand_period_seconds": read_back}

    async def _set_load_limit(self, serial: str, parameters: Mapping[str, Any]) -> dict[str, Any]:
        writes: list[tuple[str, str, int]] = []
        if "power_threshold_w" in parameters:
            watts = round(float(parameters["power_threshold_w"]))
            writes.append(("power_threshold_w", obis.POWER_LIMITER, watts))
        if "current_threshold_a" in parameters:
            milliamperes = round(float(parameters["current_threshold_a"]) * 1000)
            writes.append(("current_threshold_ma", obis.CURRENT_LIMITER, milliamperes))
        if not writes:
            raise CommandRefused("set_load_limit needs a current or a power threshold")
        result: dict[str, Any] = {}
        async with self.session(serial) as session:
            for name, logical_name, value in writes:
                limiter = GXDLMSLimiter(logical_name)
                await session.set(limiter, 3, DoubleLongUnsigned(value))
                result[name] = await session.get(limiter, 3)
        return result

    async def _set_disconnect_triggers(
        self, serial: str, parameters: Mapping[str, Any]
    ) -> dict[str, Any]:
        """The limiter's actions (attribute 11: the disconnect script table's disconnect
        or reconnect script, or none) and its minimum durations over and under the
        threshold (attributes 6, 7), each read back."""
        limiter = GXDLMSLimiter(
            obis.CURRENT_LIMITER if parameters.get("limiter") == "current" else obis.POWER_LIMITER
        )
        over = obis.DISCONNECT_SCRIPT if parameters["over_threshold"] == "disconnect" else None
        under = obis.RECONNECT_SCRIPT if parameters["under_threshold"] == "reconnect" else None
        durations = {
            6: parameters.get("min_over_threshold_seconds"),
            7: parameters.get("min_under_threshold_seconds"),
        }
        async with self.session(serial) as session:
            await session.set(limiter, 11, Structure([_action(over), _action(under)]))
            for attribute, seconds in durations.items():
                if seconds is not None:
                    await session.set(limiter, attribute, DoubleLongUnsigned(int(seconds)))
            actions = await session.get(limiter, 11)
            held = {attribute: await session.get(limiter, attribute) for attribute in (6, 7)}
        over_held, under_held = (_script_named(action) for action in _actions_of(actions))
        return {
            "limiter": str(limiter.logicalName),
            "over_threshold": over_held,
            "under_threshold": under_held,
            "min_over_threshold_seconds": held[6],
            "min_under_threshold_seconds": held[7],
        }

    async def _set_billing_date(self, serial: str, parameters: Mapping[str, Any]) -> dict[str, Any]:
        day = int(parameters["day_of_month"])
        schedule = GXDLMSActionSchedule(obis.BILLING_SCHEDULE)
        async with self.session(serial) as session:
            await session.set(schedule, 4, schedule_values.monthly_execution(day))
        return {"day_of_month": day, "time": "00:00:00"}

    async def _set_activity_calendar(
        self, serial: str, parameters: Mapping[str, Any]
    ) -> dict[str, Any]:
        """`calendar`: the switch points of one day profile applied every day, e.g.
        [{"start": "00:00", "tariff": 1}, {"start": "07:00", "tariff": 2}]; written as
        the passive calendar (one season, one week) and activated on `activate_on`."""
        activate_on = date.fromisoformat(str(parameters["activate_on"]))
        try:
            passive = schedule_values.passive_calendar(parameters["calendar"], activate_on)
        except ValueError as error:
            raise CommandRefused(f"calendar: {error}") from None
        calendar = GXDLMSActivityCalendar(obis.ACTIVITY_CALENDAR)
        async with self.session(serial) as session:
            for attribute, value in passive.attributes():
                await session.set(calendar, attribute, value)
        return {
            "calendar_name": passive.name.decode("ascii"),
            "switch_points": passive.switch_points,
            "activates_at": passive.activation.isoformat(),
        }

    async def _set_push_schedule(
        self, serial: str, parameters: Mapping[str, Any]
    ) -> dict[str, Any]:
        """`schedule`: [{"time": "HH:MM"}] pushes every day; `objects`: [{"class_id": 3,
        "logical_name": "1.0.1.8.0.255", "attribute": 2}] the push object list."""
        try:
            times = [str(item["time"]) for item in parameters["schedule"]]
            execution = schedule_values.daily_execution(times)
            pushed = schedule_values.push_object_list(parameters["objects"])
        except (KeyError, ValueError, TypeError) as error:
            raise CommandRefused(f"set_push_schedule: malformed parameters ({error})") from None
        async with self.session(serial) as session:
            await session.set(GXDLMSPushSetup(obis.PUSH_SETUP), 2, pushed)
            await session.set(GXDLMSActionSchedule(obis.PUSH_SCHEDULE), 4, execution)
        return {"push_times": len(times), "push_objects": len(pushed.items)}

    async def _set_and_read(
        self, serial: str, target: Any, attribute: int, value: TypedValue
    ) -> Any:
        async with self.session(serial) as session:
            await session.set(target, attribute, value)
            return await session.get(target, attribute)

    async def _set_thresholds(self, serial: str, parameters: Mapping[str, Any]) -> dict[str, Any]:
        async with self.session(serial) as session:
            return await thresholds(session, parameters)

    # --- secrets ---------------------------------------------------------------------------

    async def _change_keys(self, serial: str, parameters: Mapping[str, Any]) -> dict[str, Any]:
        return await change_keys(self, serial, parameters)

    async def _change_password(self, serial: str, parameters: Mapping[str, Any]) -> dict[str, Any]:
        """Installs the LLS password sealed under `secret_ref` on the meter (association
        attribute 7), proves it by associating with it, then records the reference as the
        meter's password in the registry. The secret itself never leaves memory."""
        reference = str(parameters["secret_ref"])
        registry = self.collection.registry
        vault = getattr(registry, "vault", None)
        if vault is None:
            raise CommandRefused("no secret vault: cannot reveal the new password")
        try:
            new_password = vault.reveal(reference)
        except LookupError:
            raise CommandRefused(f"no sealed secret {reference}") from None
        gated = self.session(serial)  # refuses a meter without a management secret
        if self._is_hls(serial):
            raise CommandRefused("change_password applies to LLS meters only")
        association = GXDLMSAssociationLogicalName(obis.CURRENT_ASSOCIATION)
        async with gated as session:
            if session.client_address != obis.MANAGEMENT_CLIENT:
                raise CommandRefused("change_password applies to LLS meters only")
            await session.set(association, 7, OctetString(new_password.encode("utf-8")))
        endpoint = session.endpoint
        async with (
            self.gate.attempt(serial, "change_password") as attempt,
            CosemSession(
                endpoint,
                password=new_password,
                timeout=self.timeout,
                frame_recorder=attempt.frame_recorder(self.frame_recorder),
                meter_serial=serial,
            ),
        ):
            pass  # the meter accepts the new password
        today = datetime.now(UTC).date()
        meter = registry.get("meter", serial).attributes_on(today)
        refs = {**(meter.get("secret_refs") or {}), "lls_password": reference}
        try:
            await asyncio.to_thread(
                registry.change, "meter", serial, {"secret_refs": refs}, today, SECRET_CHANGED
            )
        except Exception as error:  # the meter has the new password: say so loudly
            raise CommandRefused(
                f"the meter took the new password but the registry was not updated "
                f"({type(error).__name__}); record {reference} as its lls_password"
            ) from None
        return {"password_changed": True, "secret_ref": reference}

    def _is_hls(self, serial: str) -> bool:
        today = datetime.now(UTC).date()
        meter = self.collection.registry.get("meter", serial).attributes_on(today)
        return str(meter.get("security_profile")) == "hls-gmac"

    # --- firmware --------------------------------------------------------------------------

    async def _firmware_upgrade(self, serial: str, parameters: Mapping[str, Any]) -> dict[str, Any]:
        if self.firmware_images is None:
            raise CommandRefused("no firmware image store is configured (HES_FIRMWARE_DIR)")
        image_id = str(parameters["image_id"])
        image = self.firmware_images.load(image_id)
        activate_at = None
        if parameters.get("activate_at"):
            activate_at = datetime.fromisoformat(str(parameters["activate_at"]))
        identifier = Path(image_id).stem.encode("ascii")
        async with self.session(serial) as session:
            outcome = await transfer_image(session, identifier, image, activate_at=activate_at)
        return {
            "image_id": image_id,
            "image_identifier": identifier.decode("ascii"),
            "sha256": hashlib.sha256(image).hexdigest(),
            "size": len(image),
            "blocks_total": outcome.blocks_total,
            "blocks_sent": outcome.blocks_sent,
            "resumed_from_block": outcome.resumed_from_block,
            "activated": outcome.activated,
            "activate_at": activate_at.isoformat() if activate_at else None,
            "firmware_version": outcome.firmware_version,
        }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None
