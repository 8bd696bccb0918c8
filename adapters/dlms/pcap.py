"""A tiny reader of classic pcap captures (libpcap format, not pcapng): the UDP payloads
of IPv4 packets on Ethernet or raw-IP links. Enough to replay captured DLMS traffic into
the decoders; no dependency beyond `struct`.
"""

from __future__ import annotations

import datetime as dt
import struct
from collections.abc import Iterator
from dataclasses import dataclass

from adapters.dlms.errors import FrameError

_MAGICS = {
    b"\xd4\xc3\xb2\xa1": ("<", 1_000_000),
    b"\xa1\xb2\xc3\xd4": (">", 1_000_000),
    b"\x4d\x3c\xb2\xa1": ("<", 1_000_000_000),  # nanosecond timestamps
    b"\xa1\xb2\x3c\x4d": (">", 1_000_000_000),
}
LINKTYPE_ETHERNET, LINKTYPE_RAW, LINKTYPE_IPV4 = 1, 101, 228
_ETHERTYPE_IPV4, _ETHERTYPE_VLAN = 0x0800, 0x8100
_UDP = 17


@dataclass(frozen=True)
class UdpDatagram:
    number: int  # 1-based, as Wireshark counts packets
    captured_at: dt.datetime
    source: tuple[str, int]
    destination: tuple[str, int]
    payload: bytes


def read_udp_datagrams(capture: bytes) -> Iterator[UdpDatagram]:
    """Every UDP datagram of the capture; other packets are skipped."""
    if len(capture) < 24 or capture[:4] not in _MAGICS:
        raise FrameError("not a classic pcap capture (unknown magic number)")
    order, ticks = _MAGICS[capture[:4]]
    linktype = struct.unpack(order + "I", capture[20:24])[0] & 0x0FFFFFFF
    record = struct.Struct(order + "IIII")
    offset, number = 24, 0
    while offset < len(capture):
        if offset + record.size > len(capture):
            raise FrameError(f"pcap record header cut short at octet {offset}")
        seconds, fraction, included, _original = record.unpack_from(capture, offset)
        offset += record.size
        packet = capture[offset : offset + included]
        if len(packet) != included:
            raise FrameError(f"pcap packet {number + 1} cut short")
        offset += included
        number += 1
        stamp = dt.datetime.fromtimestamp(seconds, dt.UTC) + dt.timedelta(
            microseconds=fraction * 1_000_000 // ticks
        )
        ip = _ip_packet(packet, linktype)
        if ip is not None:
            datagram = _udp(ip, number, stamp)
            if datagram is not None:
                yield datagram


def _ip_packet(packet: bytes, linktype: int) -> bytes | None:
    if linktype in (LINKTYPE_RAW, LINKTYPE_IPV4):
        return packet
    if linktype != LINKTYPE_ETHERNET:
        raise FrameError(f"pcap link type {linktype} is not supported (Ethernet or raw IP)")
    offset = 12
    ethertype = int.from_bytes(packet[offset : offset + 2], "big")
    while ethertype == _ETHERTYPE_VLAN:
        offset += 4
        ethertype = int.from_bytes(packet[offset : offset + 2], "big")
    return packet[offset + 2 :] if ethertype == _ETHERTYPE_IPV4 else None


def _udp(ip: bytes, number: int, stamp: dt.datetime) -> UdpDatagram | None:
    if len(ip) < 20 or ip[0] >> 4 != 4 or ip[9] != _UDP:
        return None
    header_length = (ip[0] & 0x0F) * 4
    total_length = int.from_bytes(ip[2:4], "big")
    udp = ip[header_length:total_length]  # Ethernet padding lies beyond total_length
    if len(udp) < 8:
        raise FrameError(f"pcap packet {number}: UDP header cut short")
    source_port, destination_port, length = struct.unpack(">HHH", udp[:6])
    if not 8 <= length <= len(udp):
        raise FrameError(f"pcap packet {number}: UDP length {length} does not fit the packet")
    return UdpDatagram(
        number,
        stamp,
        (_address(ip[12:16]), source_port),
        (_address(ip[16:20]), destination_port),
        udp[8:length],
    )


def _address(octets: bytes) -> str:
    return ".".join(str(octet) for octet in octets)
