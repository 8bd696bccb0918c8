"""Event store wiring: eventsourcing-sqlalchemy on SQLite (embedded) or PostgreSQL.

``store.py`` turns a data directory or a database URL into application settings,
``factory.py`` shares one SQLAlchemy datastore per database, ``recorder.py`` writes
the recorded-time index in the transaction of the events, ``transcodings.py`` teaches
the JSON transcoder numpy arrays and dates.
"""
