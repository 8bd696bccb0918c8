"""Read models built from the applications' events, and the runners that feed them.

``runner.py`` polls an application's notification log and processes each batch in one
transaction with the view's tracking position (SQLite cannot subscribe, so polling is
the one code path). ``audit_log.py`` answers who changed what, when and why;
``meter_directory.py`` lists meters, service points and channels as in force today;
``interval_view.py`` holds the latest state of every channel day (one row a day, table
in ``interval_days.py``); ``read_models.py`` wires them to the Registry, Readings and
Security applications. Every view can be emptied with ``reset()`` and rebuilt from zero.
Projections may import domain/, application/ and adapters/persistence; nothing in domain/
or application/ imports them.
"""
