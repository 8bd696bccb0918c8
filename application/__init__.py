"""Use cases: eventsourcing Applications whose methods load, command and save once.

No HTTP, no SQL, no sockets here: ports (``SecretVault``, ``PasswordHasher``, the
recorded-time index) are implemented in adapters/ and handed in.
"""
