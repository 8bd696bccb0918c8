"""The metering domain: registry aggregates, their events and rules.

Pure by rule: modules here import only the standard library, ``eventsourcing.domain``
and numpy (checked by tests/unit/test_layering.py).
"""
