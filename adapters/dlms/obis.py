"""Logical names (OBIS codes) and client access points shared by the client and the simulator."""

from __future__ import annotations

from typing import Final

CLOCK: Final = "0.0.1.0.0.255"
SERIAL_NUMBER: Final = "0.0.96.1.0.255"
ACTIVE_ENERGY_IMPORT_TOTAL: Final = "1.0.1.8.0.255"
LOAD_PROFILE: Final = "1.0.99.1.0.255"
AMR_PROFILE_STATUS: Final = "0.0.96.10.1.255"
ACTIVE_ENERGY_IMPORT_INTERVAL: Final = "1.0.1.29.0.255"
CURRENT_ASSOCIATION: Final = "0.0.40.0.0.255"
DISCONNECT_CONTROL: Final = "0.0.96.3.10.255"
POWER_LIMITER: Final = "0.0.17.0.0.255"  # monitors active power import, threshold in W
CURRENT_LIMITER: Final = "0.0.17.0.1.255"  # monitors current, threshold in mA
# The scripts a limiter's actions name: 1 disconnects the relay, 2 reconnects it (IDIS).
DISCONNECT_SCRIPT_TABLE: Final = "0.0.10.0.106.255"
DISCONNECT_SCRIPT: Final = 1
RECONNECT_SCRIPT: Final = 2
DEMAND_REGISTER: Final = "1.0.1.4.0.255"  # current average demand, active power import
BILLING_SCHEDULE: Final = "0.0.15.0.0.255"  # end of billing period single action schedule
PUSH_SCHEDULE: Final = "0.0.15.0.4.255"  # push single action schedule (IDIS)
ACTIVITY_CALENDAR: Final = "0.0.13.0.0.255"
PUSH_SETUP: Final = "0.0.25.9.0.255"
IMAGE_TRANSFER: Final = "0.0.44.0.0.255"
IMAGE_ACTIVATION_SCHEDULE: Final = "0.0.15.0.2.255"
FIRMWARE_VERSION: Final = "1.0.0.2.0.255"  # active firmware identifier

# Client SAPs (the source wPort of a WRAPPER frame). 16 is the public client of the Green
# Book (no security, read-only). 1 is the management client as IDIS numbers it; here it
# authenticates with a low-level-security password, and the HLS-GMAC issue will move it to
# high-level security as IDIS meters do.
PUBLIC_CLIENT: Final = 16
MANAGEMENT_CLIENT: Final = 1

# Server SAP of the management logical device, the only logical device a simple meter has.
MANAGEMENT_LOGICAL_DEVICE: Final = 1

# COSEM interface classes used here (class_id).
CLASS_DATA: Final = 1
CLASS_REGISTER: Final = 3
CLASS_PROFILE_GENERIC: Final = 7
CLASS_CLOCK: Final = 8

# Energy totals (Register, class 3) besides 1.8.0, and instantaneous values per phase.
ACTIVE_ENERGY_EXPORT_TOTAL: Final = "1.0.2.8.0.255"
REACTIVE_ENERGY_IMPORT_TOTAL: Final = "1.0.3.8.0.255"
REACTIVE_ENERGY_EXPORT_TOTAL: Final = "1.0.4.8.0.255"
ACTIVE_POWER_IMPORT: Final = "1.0.1.7.0.255"  # sum of the phases
VOLTAGES: Final = ("1.0.32.7.0.255", "1.0.52.7.0.255", "1.0.72.7.0.255")  # L1, L2, L3
CURRENTS: Final = ("1.0.31.7.0.255", "1.0.51.7.0.255", "1.0.71.7.0.255")
ACTIVE_POWERS_IMPORT: Final = ("1.0.21.7.0.255", "1.0.41.7.0.255", "1.0.61.7.0.255")
DAILY_BILLING_PROFILE: Final = "0.0.98.2.0.255"  # data of billing period, scheme 2: daily
SECURITY_SETUP: Final = "0.0.43.0.0.255"  # of the management client's association
# Register monitors (class 21) supervising the phase currents L1, L2, L3.
SUPERVISION_MONITORS: Final = ("0.0.16.1.0.255", "0.0.16.1.1.255", "0.0.16.1.2.255")
CLASS_REGISTER_MONITOR: Final = 21
CLASS_SECURITY_SETUP: Final = 64
