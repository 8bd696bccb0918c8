"""The DLMS face of one simulated meter for one connection: who may associate, and what
each attribute reads as at this moment of the meter's clock."""

from __future__ import annotations

import hmac
from typing import Any

from gurux_dlms import GXByteBuffer
from gurux_dlms.enums import Authentication, DataType, SourceDiagnostic, Unit
from gurux_dlms.internal._GXCommon import _GXCommon
from gurux_dlms.objects.enums import AssociationStatus

from adapters.dlms import meter_controls, meter_readouts, obis
from adapters.dlms.association_view import (
    encode_associated_partners,
    encode_object_list,
    encode_xdlms_context,
)
from adapters.dlms.consumption import ENERGY_SCALER
from adapters.dlms.cosem_datetime import (
    encode_cosem_datetime,
)
from adapters.dlms.cosem_objects import (
    CAPTURE_COLUMNS,
    build_meter_objects,
    encode_profile_rows,
)
from adapters.dlms.errors import FrameError
from adapters.dlms.get_service import AccessRefused, AttributeRequest, DataAccessResult
from adapters.dlms.meter_profiles import range_bound
from adapters.dlms.secure_server import SecuredCosemServer
from adapters.dlms.set_action_service import (
    ActionRequest,
    ActionResult,
    ServiceRefused,
    SetRequest,
)
from adapters.dlms.simulated_meter import ProfileRow, SimulatedMeter

# A date-time with every field "not specified" (deviation 0x8000): the clock keeps UTC.
NO_DAYLIGHT_SAVING = bytes.fromhex("ffffffffffffffffff800000")
SELECTOR_RANGE = 1
SELECTOR_ENTRY = 2


class SimulatedMeterServer(SecuredCosemServer):
    """Per-connection server of a `SimulatedMeter`; the meter itself is shared."""

    def __init__(self, meter: SimulatedMeter) -> None:
        super().__init__(max_pdu_size=meter.config.max_pdu_size, security=meter.security)
        self.meter = meter
        self.objects = build_meter_objects(meter)
        self.register_objects(self.objects.all())

    def admit(self, client_address: int, authentication: int, password: bytes | None) -> int:
        if client_address == obis.PUBLIC_CLIENT:
            if authentication != Authentication.NONE:
                return int(SourceDiagnostic.NOT_RECOGNISED)  # mechanism not offered here
            return int(SourceDiagnostic.NONE)
        secret = self.meter.lls_password  # read per AARQ: the HES may have changed it
        if client_address == obis.MANAGEMENT_CLIENT and secret is not None:
            if authentication != Authentication.LOW:
                return int(SourceDiagnostic.AUTHENTICATION_REQUIRED)
            if password is None or not hmac.compare_digest(bytes(password), secret):
                return int(SourceDiagnostic.AUTHENTICATION_FAILURE)
            return int(SourceDiagnostic.NONE)
        return int(SourceDiagnostic.NO_REASON_GIVEN)  # no association for this client

    def write_attribute(self, request: SetRequest) -> None:
        self._check_class(request.class_id, request.logical_name)
        if (request.logical_name, request.attribute) == (obis.CURRENT_ASSOCIATION, 7):
            self._change_secret(request.value)
            return
        if meter_readouts.write(self.meter, request):
            return
        if not meter_controls.write(self.meter, request):
            raise ServiceRefused(ActionResult.READ_WRITE_DENIED)  # a read-only attribute

    def invoke_method(self, request: ActionRequest) -> bytes | None:
        self._check_class(request.class_id, request.logical_name)
        handled, returned = meter_readouts.act(
            self.meter, request, ciphered=self._association is not None
        )
        if handled:
            return returned
        handled, returned = meter_controls.act(self.meter, request)
        if not handled:
            raise ServiceRefused(ActionResult.READ_WRITE_DENIED)
        return returned

    def _change_secret(self, value: Any) -> None:
        """Association LN attribute 7: the LLS secret. Only an LLS association may change
        it (an HLS meter's keys change through the security setup's key_transfer)."""
        if self.settings.authentication != Authentication.LOW or self.meter.lls_password is None:
            raise ServiceRefused(ActionResult.READ_WRITE_DENIED)
        if not isinstance(value, bytes) or not 1 <= len(value) <= 64:
            raise ServiceRefused(ActionResult.TYPE_UNMATCHED)
        self.meter.lls_password = bytes(value)

    def _check_class(self, class_id: int, logical_name: str) -> None:
        for item in self.objects.all():
            if item.logicalName == logical_name:
                if int(item.objectType) != class_id:
                    raise ServiceRefused(ActionResult.OBJECT_CLASS_INCONSISTENT)
                return
        raise ServiceRefused(ActionResult.OBJECT_UNDEFINED)

    def read_attribute(self, request: AttributeRequest) -> bytes:
        target = self.find_object(request)
        association = self._association
        readout = meter_readouts.read(
            self.meter,
            request,
            peer_system_title=association.peer_system_title if association else None,
        )
        if readout is not None:
            return readout
        if request.selector == 0:
            served = meter_controls.read(self.meter, request.logical_name, request.attribute)
            if served is not None:
                return served
        objects = self.objects
        if target is objects.clock and request.attribute == 2:
            return _octet_string(encode_cosem_datetime(self.meter.now()))
        if target is objects.clock and request.attribute in (5, 6):
            return _octet_string(NO_DAYLIGHT_SAVING)  # DST begin/end: not specified
        security = self.meter.security
        if target is objects.invocation_counter and security and request.attribute == 2:
            return _uint32(security.client_counter)
        if target is objects.association:
            if request.attribute == 2:
                return encode_object_list(objects.all(), writable=self.may_modify())
            if request.attribute == 3:
                return encode_associated_partners(
                    self.settings.clientAddress, self.settings.serverAddress
                )
            if request.attribute == 5:
                return encode_xdlms_context(
                    self.settings.negotiatedConformance,
                    self.settings.maxServerPDUSize,
                    self.settings.maxPduSize,
                )
            if request.attribute == 7:
                raise AccessRefused(DataAccessResult.READ_WRITE_DENIED)  # the LLS secret
            objects.association.authenticationMechanismName.mechanismId = (
                self.settings.authentication
            )
            objects.association.associationStatus = AssociationStatus.ASSOCIATED
        if target is objects.interval_energy and request.attribute == 3:
            return _scaler_unit(ENERGY_SCALER, int(Unit.ACTIVE_ENERGY))
        if target is objects.interval_energy and request.attribute == 2:
            objects.interval_energy.value = self.meter.last_interval_raw()
        elif target is objects.load_profile:
            if request.attribute == 2:
                return self._profile_buffer(request)
            objects.load_profile.entriesInUse = self.meter.entries_in_use()
            objects.load_profile.capturePeriod = int(self.meter.capture_period.total_seconds())
        return super().read_attribute(request)

    def _profile_buffer(self, request: AttributeRequest) -> bytes:
        columns: list[int] = list(range(len(CAPTURE_COLUMNS)))
        if request.selector == 0:
            rows = self.meter.rows_by_entry(1, 0)
        elif request.selector == SELECTOR_RANGE and self.meter.config.range_access:
            rows, columns = self._rows_by_range(request.parameters)
        elif request.selector == SELECTOR_ENTRY:
            rows, columns = self._rows_by_entry(request.parameters)
        else:
            raise AccessRefused(DataAccessResult.OTHER_REASON)
        compact = self.meter.capture_period if self.meter.config.compact_profile else None
        return encode_profile_rows(rows, columns, compact_period=compact)

    def _rows_by_range(self, parameters: Any) -> tuple[list[ProfileRow], list[int]]:
        try:
            restricting, start, end, selected = parameters
            class_id, logical_name, attribute, _data_index = restricting
            key = (class_id, _GXCommon.toLogicalName(logical_name), attribute)
            if key != CAPTURE_COLUMNS[0]:
                raise AccessRefused(DataAccessResult.OTHER_REASON)  # only the clock sorts
            columns = [_column_of(item) for item in selected] or list(range(len(CAPTURE_COLUMNS)))
            first, last = range_bound(start), range_bound(end)
        except (TypeError, ValueError, FrameError):
            raise AccessRefused(DataAccessResult.OTHER_REASON) from None
        return self.meter.rows_in_range(first, last), columns

    def _rows_by_entry(self, parameters: Any) -> tuple[list[ProfileRow], list[int]]:
        try:
            first_entry, last_entry, first_column, last_column = (int(p) for p in parameters)
        except (TypeError, ValueError):
            raise AccessRefused(DataAccessResult.OTHER_REASON) from None
        count = len(CAPTURE_COLUMNS)
        last_column = count if last_column == 0 else min(last_column, count)
        columns = list(range(max(first_column, 1) - 1, last_column))
        if not columns:
            raise AccessRefused(DataAccessResult.OTHER_REASON)
        return self.meter.rows_by_entry(first_entry, last_entry), columns


def _column_of(capture_object: Any) -> int:
    class_id, logical_name, attribute, _data_index = capture_object
    key = (class_id, _GXCommon.toLogicalName(logical_name), attribute)
    for index, column in enumerate(CAPTURE_COLUMNS):
        if column == key:
            return index
    raise ValueError("not a capture object of this profile")


def _scaler_unit(scaler: int, unit: int) -> bytes:
    """Encoded here: gurux keeps scalers as float multipliers and encodes them with
    floor(log10(x)), which turns 1000 into scaler 2."""
    return bytes((DataType.STRUCTURE, 2, DataType.INT8, scaler & 0xFF, DataType.ENUM, unit))


def _uint32(value: int) -> bytes:
    return bytes((DataType.UINT32,)) + value.to_bytes(4, "big")


def _octet_string(raw: bytes) -> bytes:
    encoded = GXByteBuffer()
    _GXCommon.setData(None, encoded, DataType.OCTET_STRING, raw)
    return bytes(encoded.array())
