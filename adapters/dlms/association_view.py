"""What the current association (0.0.40.0.0.255) tells a client about itself.

gurux-dlms 1.0.203 cannot serve these: the object list fails on
`ValueEventArgs.isSkipMaxPduSize`, associated partners on an unset client SAP, the xDLMS
context on an octet-string encoder, and the LLS secret (attribute 7) would be readable.
A simulated meter answers them here.
"""

from __future__ import annotations

from collections.abc import Sequence

from gurux_dlms import GXByteBuffer
from gurux_dlms._GXAPDU import _GXAPDU
from gurux_dlms.enums import DataType
from gurux_dlms.internal._GXCommon import _GXCommon
from gurux_dlms.objects import GXDLMSObject, GXDLMSProfileGeneric

DLMS_VERSION = 6
READ_ONLY = 1  # attribute access mode
READ_AND_WRITE = 3
METHOD_ACCESS = 1  # method access mode: access
SELECTIVE_ACCESS_SELECTORS = (1, 2)  # range and entry, offered on a profile's buffer


def encode_object_list(objects: Sequence[GXDLMSObject], *, writable: bool = False) -> bytes:
    """object_list (attribute 2) with the access rights of this association: read-only
    without methods for the public client; `writable` (the management client) may write
    every attribute but the logical name and invoke every method."""
    out = GXByteBuffer()
    out.setUInt8(DataType.ARRAY)
    _GXCommon.setObjectCount(len(objects), out)
    for item in objects:
        out.setUInt8(DataType.STRUCTURE)
        out.setUInt8(4)
        _GXCommon.setData(None, out, DataType.UINT16, int(item.objectType))
        _GXCommon.setData(None, out, DataType.UINT8, int(item.version))
        _GXCommon.setData(
            None, out, DataType.OCTET_STRING, _GXCommon.logicalNameToBytes(item.logicalName)
        )
        out.setUInt8(DataType.STRUCTURE)
        out.setUInt8(2)
        attributes = item.getAttributeCount()
        out.setUInt8(DataType.ARRAY)
        _GXCommon.setObjectCount(attributes, out)
        for attribute in range(1, attributes + 1):
            out.setUInt8(DataType.STRUCTURE)
            out.setUInt8(3)
            _GXCommon.setData(None, out, DataType.INT8, attribute)
            mode = READ_AND_WRITE if writable and attribute > 1 else READ_ONLY
            _GXCommon.setData(None, out, DataType.ENUM, mode)
            if isinstance(item, GXDLMSProfileGeneric) and attribute == 2:
                out.setUInt8(DataType.ARRAY)
                out.setUInt8(len(SELECTIVE_ACCESS_SELECTORS))
                for selector in SELECTIVE_ACCESS_SELECTORS:
                    _GXCommon.setData(None, out, DataType.INT8, selector)
            else:
                out.setUInt8(DataType.NONE)
        methods = item.getMethodCount() if writable else 0
        out.setUInt8(DataType.ARRAY)
        _GXCommon.setObjectCount(methods, out)
        for method in range(1, methods + 1):
            out.setUInt8(DataType.STRUCTURE)
            out.setUInt8(2)
            _GXCommon.setData(None, out, DataType.INT8, method)
            _GXCommon.setData(None, out, DataType.ENUM, METHOD_ACCESS)
    return bytes(out.array())


def encode_associated_partners(client_sap: int, server_sap: int) -> bytes:
    """associated_partners_id (attribute 3): who is associated, as seen by the meter."""
    out = GXByteBuffer()
    out.setUInt8(DataType.STRUCTURE)
    out.setUInt8(2)
    _GXCommon.setData(None, out, DataType.INT8, client_sap)
    _GXCommon.setData(None, out, DataType.UINT16, server_sap)
    return bytes(out.array())


def encode_xdlms_context(
    conformance: int, max_receive_pdu_size: int, max_send_pdu_size: int
) -> bytes:
    """xDLMS_context_info (attribute 5): what this association negotiated."""
    out = GXByteBuffer()
    out.setUInt8(DataType.STRUCTURE)
    out.setUInt8(6)
    out.setUInt8(DataType.BITSTRING)
    out.setUInt8(24)
    _GXAPDU.setConformanceToArray(conformance, out)  # the AARE's bit order
    _GXCommon.setData(None, out, DataType.UINT16, max_receive_pdu_size)
    _GXCommon.setData(None, out, DataType.UINT16, max_send_pdu_size)
    _GXCommon.setData(None, out, DataType.UINT8, DLMS_VERSION)
    _GXCommon.setData(None, out, DataType.INT8, 0)  # quality of service: not used
    _GXCommon.setData(None, out, DataType.OCTET_STRING, b"")  # no ciphering yet
    return bytes(out.array())
