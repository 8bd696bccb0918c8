"""Task queues and the ``hes worker`` process (dramatiq on Redis, or in-process).

``broker.py`` makes brokers and sends task messages (``DramatiqTaskQueue``, the
Operations application's ``TaskQueue`` port); ``actors.py`` declares one actor per
priority class and runs a task by id; ``handlers.py`` maps task types to the code that
does the work; ``heartbeats.py`` keeps the workers' heartbeats in a plain table;
``maintenance.py`` dispatches due tasks and recovers lost ones; ``reconciler.py`` finds
queued tasks the queue lost; ``worker.py`` is the worker process. Nothing in domain/ or
application/ imports from here.
"""
