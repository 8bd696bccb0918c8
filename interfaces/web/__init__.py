"""The operators' web UI: server-rendered pages (Jinja2), forms that work without JS.

``pages.mount_pages`` wires everything onto the FastAPI app. Each ``*_pages`` module
holds the routes of one screen; ``sessions`` and ``csrf`` guard them (deny by default),
``forms`` turns form fields into domain values, ``rendering`` renders templates with
the security headers. htmx and uPlot are vendored under ``static/vendor`` with their
licences; ``static/chart.js`` draws the load-profile chart.
"""
