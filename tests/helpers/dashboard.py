"""The dashboard as a browser's HTTP exchanges: a client keeping cookies that signs in
through the sign-in form and sends each page's CSRF field back with its forms."""

from __future__ import annotations

import re

import httpx2

from tests.helpers.server import RunningServer

PASSWORD = "correct horse battery"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


class Visitor:
    """A browser's view of the dashboard: its cookies and the last page's CSRF field."""

    def __init__(self, server: RunningServer) -> None:
        self.client = httpx2.Client(base_url=server.url, follow_redirects=False, timeout=60)
        self.csrf = ""

    def get(self, path: str) -> httpx2.Response:
        page = self.client.get(path)
        found = CSRF.search(page.text)
        if found:
            self.csrf = found.group(1)
        return page

    def post(self, path: str, csrf: str | None = None, **fields: str) -> httpx2.Response:
        """A form sent as the page would (``csrf``: to send another value, or none)."""
        data = {**fields, "csrf": self.csrf if csrf is None else csrf}
        if csrf == "":
            del data["csrf"]
        return self.client.post(path, data=data)

    def sign_in(self, email: str, password: str = PASSWORD) -> None:
        self.get("/login")
        answer = self.post("/login", email=email, password=password, next="/teams")
        assert answer.status_code == 303, answer.text
        assert answer.headers["location"] == "/teams"

    def join(self, code: str, email: str, password: str = PASSWORD) -> httpx2.Response:
        form = self.get(f"/invite/{code}")
        assert form.status_code == 200 and 'name="password"' in form.text
        return self.post(f"/invite/{code}", email=email, password=password)
