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
