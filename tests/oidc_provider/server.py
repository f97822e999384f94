"""`OIDCProvider`: the test identity provider on a free loopback port, served by uvicorn in a thread."""

from __future__ import annotations

import socket
import threading
from collections.abc import Sequence
from typing import Any

import uvicorn

from tests.oidc_provider.app import create_app
from tests.oidc_provider.authorization import DEFAULT_USERS, Client, ProviderServer, Stats, TestUser

DEFAULT_CLIENT_ID = "kling-lab-test"
DEFAULT_CLIENT_SECRET = "kling-lab-test-secret"  # noqa: S105 - a test client's secret


class OIDCProvider:
    """A real OpenID Connect provider on 127.0.0.1 for tests.

        with OIDCProvider(redirect_uris=["http://localhost:8501/oauth2callback"], auto_approve="alice") as idp:
            idp.metadata_url      # for [auth] server_metadata_url
            idp.auth_section(redirect_uri=..., cookie_secret=...)   # a ready [auth] mapping

    Without `auto_approve` (or a `login_hint`), /authorize shows a form with one button per user.
    """

    def __init__(
        self,
        *,
        users: Sequence[TestUser] = DEFAULT_USERS,
        redirect_uris: Sequence[str] = (),
        client_id: str = DEFAULT_CLIENT_ID,
        client_secret: str = DEFAULT_CLIENT_SECRET,
        auto_approve: str | None = None,
        require_pkce: bool = True,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, port))
        self.host, self.port = self._sock.getsockname()[:2]
        self.issuer = f"http://{self.host}:{self.port}"
        self.server = ProviderServer(self.issuer, users, require_pkce=require_pkce)
        self.client_id, self.client_secret = client_id, client_secret
        self.server.clients[client_id] = Client(client_id, client_secret, list(redirect_uris))
        self.settings: dict[str, Any] = {"auto_approve": auto_approve}
        self._uvicorn: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    # -- configuration, changeable while running ------------------------------------------------
    @property
    def auto_approve(self) -> str | None:
        return self.settings["auto_approve"]

    @auto_approve.setter
    def auto_approve(self, user: str | None) -> None:
        self.settings["auto_approve"] = user

    def add_redirect_uri(self, uri: str) -> None:
        self.server.clients[self.client_id].redirect_uris.append(uri)

    @property
    def stats(self) -> Stats:
        return self.server.stats

    @property
    def metadata_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    def auth_section(self, *, redirect_uri: str, cookie_secret: str) -> dict[str, str]:
        """An `[auth]` mapping for `.streamlit/secrets.toml` that points `st.login` here."""
        if redirect_uri not in self.server.clients[self.client_id].redirect_uris:
            self.add_redirect_uri(redirect_uri)
        return {
            "redirect_uri": redirect_uri,
            "cookie_secret": cookie_secret,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "server_metadata_url": self.metadata_url,
        }

    # -- lifecycle --------------------------------------------------------------------------------
    def start(self) -> OIDCProvider:
        """Serve in a background thread. The socket already listens, so requests made now wait, never fail."""
        if self._thread is not None:
            return self
        self._sock.listen(64)
        config = uvicorn.Config(create_app(self.server, self.settings), log_level="warning",
                                lifespan="off", access_log=False)
        self._uvicorn = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._uvicorn.run, kwargs={"sockets": [self._sock]},
                                        name="oidc-provider", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._uvicorn is not None:
            self._uvicorn.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._sock.close()
        self._thread = self._uvicorn = None

    def __enter__(self) -> OIDCProvider:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
