"""Why a page was not shown; ``pages`` answers each with HTML, never with JSON."""

from __future__ import annotations


class SignInRequired(Exception):
    """No live session: the answer is the sign-in page, coming back here afterwards."""

    def __init__(self, next_url: str) -> None:
        super().__init__("sign-in required")
        self.next_url = next_url


class PageRefused(Exception):
    """A request the page will not serve (missing role, stale form token, unknown thing)."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message
