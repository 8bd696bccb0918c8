"""DLMS/COSEM adapter: reading electricity meters over TCP (WRAPPER, IEC 62056-47, or
HDLC, IEC 62056-46), in plain, LLS or HLS-GMAC glo-ciphered associations, and receiving
their pushes. docs/DLMS.md lists what is supported, object by object.

What lives here:
- `client` - the HES side: `read_load_profile` and `read_meter_identity` open one
  association per call on their own asyncio socket (gurux-dlms is sans-I/O, used in PDU
  mode); `session` (GET, and SET/ACTION with `typed_data` values), `transport`,
  `profile` and `cosem_datetime` are its parts, `errors` its typed failures;
  `firmware_upgrade` runs an image transfer (`transfer_image`); `register_reads`
  (registers, daily billing profile), `event_log_reads`, `profile_reads`,
  `threshold_settings` (register monitors) and `key_transfer` (security setup) read and
  write the objects besides the load profile, exactly (Decimal); `event_logs` names the
  logs and their event codes for both sides.
- `set_action_service` - the SET and ACTION services, both sides; `schedule_values`
  builds calendar, schedule and push values for commands.
- `counter_store` - `SqlInvocationCounters`, the persistent replay-protection store.
- at scale: `session_limits` (sessions at once, connections a second, per process),
  `session_gate` (every outgoing session: limits, deadline, one log row),
  `communication_log` (the log, each meter's communication status, retention).
- security: `ciphering` (AES-GCM suite 0 on `cryptography`), `ciphered_apdu`,
  `ciphered_association`, `acse`, `hls`, `hls_client` (HES side), `secure_server`
  (meter side), `invocation_counters` (replay protection).
- framing: `transport` (WRAPPER), `hdlc` (frames), `hdlc_params`, `hdlc_link` (HES
  side), `hdlc_server` (meter side); `pcap` and `iec432` read captures.
- `push` - the listener for pushed DataNotifications (UDP and TCP).
- `simulator` - simulated meters (our own COSEM server built on gurux-dlms) served on
  127.0.0.1 for tests and the demo. `simulated_meter` and `consumption` hold a meter's
  metering state (pure); `meter_server`, `cosem_objects` and `association_view` give it
  its DLMS face; `server_fixes` and `get_service` complete gurux's server classes;
  `meter_controls`, `simulated_controls` and `simulated_firmware` are what the HES may
  change (relay, settings, clock, capture period, firmware); `meter_readouts` serves
  energy totals, instantaneous values, the billing profile and event logs
  (`meter_profiles`), register monitors and key transfer from `simulated_registers`,
  `simulated_events`, `simulated_monitors` and `simulated_security`, with `meter_quantities`
  their types and scalers; `simulated_faults` scripts power failures, voltage
  disturbances and tampering.
- `obis` - the logical names both sides agree on; `quiet` - silences the library's prints.

What may be touched from outside: the names exported here (the client API and its errors)
and `adapters.dlms.simulator`. Everything else is internal to the adapter. The library's
server classes have gaps in gurux-dlms 1.0.203: they are fixed in `server_fixes` and its
neighbours (our code), never in site-packages.
"""

from __future__ import annotations

from adapters.dlms.client import (
    LoadProfileReading,
    MeterEndpoint,
    MeterIdentity,
    ProfileRow,
    read_load_profile,
    read_meter_identity,
)
from adapters.dlms.errors import (
    AccessRefused,
    AssociationRejected,
    AttributeReadRefused,
    ConnectionLost,
    DlmsError,
    FrameError,
    MeterTimeout,
    MeterUnreachable,
    SecurityEventKind,
    SecurityViolation,
    UnexpectedProfileLayout,
    UnsupportedFrame,
)
from adapters.dlms.hls import HlsKeys
from adapters.dlms.invocation_counters import InMemoryInvocationCounters, InvocationCounterStore

__all__ = [
    "AccessRefused",
    "AssociationRejected",
    "AttributeReadRefused",
    "ConnectionLost",
    "DlmsError",
    "FrameError",
    "HlsKeys",
    "InMemoryInvocationCounters",
    "InvocationCounterStore",
    "LoadProfileReading",
    "MeterEndpoint",
    "MeterIdentity",
    "MeterTimeout",
    "MeterUnreachable",
    "ProfileRow",
    "SecurityEventKind",
    "SecurityViolation",
    "UnexpectedProfileLayout",
    "UnsupportedFrame",
    "read_load_profile",
    "read_meter_identity",
]
