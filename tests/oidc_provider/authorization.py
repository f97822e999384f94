"""The OpenID Connect authorization server of the test provider, assembled from Authlib's own grants.

Authlib ships the protocol (authorization code grant, PKCE, OpenID Connect id_token,
bearer tokens, client authentication) and framework adapters for Flask and Django
only; `ProviderServer` is the small adapter for plain request values, so the
Starlette app in `app.py` can drive it. Everything is kept in memory.
"""

from __future__ import annotations

import hmac
import threading
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from authlib.common.security import generate_token
from authlib.oauth2 import AuthorizationServer, OAuth2Request
from authlib.oauth2.rfc6749 import OAuth2Payload, ResourceProtector, grants
from authlib.oauth2.rfc6750 import BearerTokenGenerator, BearerTokenValidator
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import UserInfo
from authlib.oidc.core.grants import OpenIDCode
from joserfc.jwk import RSAKey


@dataclass(frozen=True)
class TestUser:
    """A person the provider can sign in; `sub` is also what `login_hint` or the form picks."""

    __test__ = False  # not a pytest test class

    sub: str
    email: str
    name: str
    email_verified: bool = True


DEFAULT_USERS: tuple[TestUser, ...] = (
    TestUser("alice", "alice@studio.example", "Alice Owner"),
    TestUser("bob", "bob@studio.example", "Bob Member"),
    TestUser("carol", "carol@elsewhere.example", "Carol Outsider"),
    TestUser("mallory", "mallory@studio.example", "Mallory Unverified", email_verified=False),
)


@dataclass
class Client:
    client_id: str
    client_secret: str
    redirect_uris: list[str]
    scope: str = "openid email profile"

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str:
        return self.redirect_uris[0]

    def get_allowed_scope(self, scope: str) -> str:
        allowed = set(self.scope.split())
        return " ".join(s for s in (scope or "").split() if s in allowed)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        return hmac.compare_digest(client_secret.encode(), self.client_secret.encode())

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "authorization_code"


@dataclass
class AuthorizationCode:
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    user: TestUser
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    auth_time: int = field(default_factory=lambda: int(time.time()))

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return self.auth_time

    def get_acr(self) -> None:
        return None

    def get_amr(self) -> list[str]:
        return ["pwd"]


@dataclass
class Token:
    access_token: str
    client_id: str
    scope: str
    user: TestUser
    expires_at: float

    def check_client(self, client: Client) -> bool:
        return client.client_id == self.client_id

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return int(self.expires_at - time.time())

    def is_expired(self) -> bool:
        return time.time() >= self.expires_at

    def is_revoked(self) -> bool:
        return False

    def get_user(self) -> TestUser:
        return self.user


class _Payload(OAuth2Payload):
    def __init__(self, items: Sequence[tuple[str, str]]):
        self._datalist: defaultdict[str, list] = defaultdict(list)
        for key, value in items:
            self._datalist[key].append(value)
        self._data = {key: values[0] for key, values in self._datalist.items()}

    @property
    def data(self) -> dict[str, str]:
        return self._data

    @property
    def datalist(self) -> defaultdict[str, list]:
        return self._datalist


class PlainRequest(OAuth2Request):
    """An HTTP request as plain values: method, URL, headers, query items and form items."""

    def __init__(self, method: str, url: str, headers: Mapping[str, str],
                 query: Sequence[tuple[str, str]] = (), form: Sequence[tuple[str, str]] = ()):
        super().__init__(method=method, uri=url, headers=headers)
        self._args = dict(query)
        self._form = dict(form)
        self.payload = _Payload([*query, *form])

    @property
    def args(self) -> dict[str, str]:
        return self._args

    @property
    def form(self) -> dict[str, str]:
        return self._form


@dataclass
class Stats:
    """What clients did, for tests to assert on."""

    authorizations: int = 0
    token_exchanges: int = 0
    userinfo_calls: int = 0
    code_challenge_methods: list[str | None] = field(default_factory=list)
    nonces: list[str | None] = field(default_factory=list)


class ProviderServer(AuthorizationServer):
    """Authlib's authorization server over in-memory clients, users, codes and tokens."""

    def __init__(self, issuer: str, users: Sequence[TestUser], *, require_pkce: bool = True):
        super().__init__(scopes_supported=["openid", "email", "profile"])
        self.issuer = issuer
        self.users = {user.sub: user for user in users}
        self.require_pkce = require_pkce
        self.key = RSAKey.generate_key(2048, parameters={"kid": generate_token(8), "use": "sig", "alg": "RS256"})
        self.clients: dict[str, Client] = {}
        self.codes: dict[str, AuthorizationCode] = {}
        self.tokens: dict[str, Token] = {}
        self.stats = Stats()
        self.lock = threading.Lock()
        self.register_token_generator("default", BearerTokenGenerator(lambda *a, **k: generate_token(42)))
        self.register_grant(_CodeGrant, [CodeChallenge(required=True), _OpenIDCode(self, require_nonce=True)])
        self.protector = ResourceProtector()
        self.protector.register_token_validator(_Validator(self))

    # -- what Authlib asks of a framework integration --------------------------------------------
    def query_client(self, client_id: str) -> Client | None:
        return self.clients.get(client_id)

    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
        with self.lock:
            self.tokens[token["access_token"]] = Token(
                access_token=token["access_token"], client_id=request.client.client_id,
                scope=token.get("scope", ""), user=request.user,
                expires_at=time.time() + int(token.get("expires_in", 3600)))
            self.stats.token_exchanges += 1

    def create_oauth2_request(self, request: PlainRequest) -> PlainRequest:
        return request

    def create_json_request(self, request: PlainRequest) -> PlainRequest:
        return request

    def handle_response(self, status: int, body: Any, headers: Sequence[tuple[str, str]]):
        return status, body, list(headers)

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        return None

    # -- OpenID Connect ---------------------------------------------------------------------------
    def user_claims(self, user: TestUser, scope: str) -> UserInfo:
        scopes = set((scope or "").split())
        claims = {"sub": user.sub}
        if "email" in scopes:
            claims.update(email=user.email, email_verified=user.email_verified)
        if "profile" in scopes:
            claims.update(name=user.name)
        return UserInfo(claims)

    def userinfo(self, request: PlainRequest) -> dict[str, Any]:
        """The claims for the bearer token in the request (raises Authlib's OAuth2Error when it is not valid)."""
        token = self.protector.validate_request(["openid"], request)
        self.stats.userinfo_calls += 1
        return dict(self.user_claims(token.user, token.scope))

    def public_jwks(self) -> dict[str, Any]:
        return {"keys": [self.key.as_dict(private=False)]}


class _CodeGrant(grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

    def save_authorization_code(self, code: str, request: OAuth2Request) -> None:
        data = request.payload.data
        server: ProviderServer = self.server
        with server.lock:
            server.codes[code] = AuthorizationCode(
                code=code, client_id=request.client.client_id, redirect_uri=data.get("redirect_uri", ""),
                scope=request.scope or "", user=request.user, nonce=data.get("nonce"),
                code_challenge=data.get("code_challenge"), code_challenge_method=data.get("code_challenge_method"))
            server.stats.authorizations += 1
            server.stats.code_challenge_methods.append(data.get("code_challenge_method"))
            server.stats.nonces.append(data.get("nonce"))

    def query_authorization_code(self, code: str, client: Client) -> AuthorizationCode | None:
        item = self.server.codes.get(code)
        return item if item is not None and item.client_id == client.client_id else None

    def delete_authorization_code(self, authorization_code: AuthorizationCode) -> None:
        with self.server.lock:
            self.server.codes.pop(authorization_code.code, None)

    def authenticate_user(self, authorization_code: AuthorizationCode) -> TestUser:
        return authorization_code.user


class _OpenIDCode(OpenIDCode):
    def __init__(self, server: ProviderServer, *, require_nonce: bool):
        super().__init__(require_nonce=require_nonce)
        self._server = server

    def exists_nonce(self, nonce: str, request: OAuth2Request) -> bool:
        return any(code.nonce == nonce for code in self._server.codes.values())

    def resolve_client_private_key(self, client: Client) -> RSAKey:
        return self._server.key

    def get_client_algorithm(self, client: Client) -> str:
        return "RS256"

    def get_encode_header(self, client: Client) -> dict[str, str]:
        return {"alg": "RS256", "kid": self._server.key.kid}

    def get_client_claims(self, client: Client) -> dict[str, Any]:
        return {"iss": self._server.issuer, "aud": [client.client_id]}

    def generate_user_info(self, user: TestUser, scope: str) -> UserInfo:
        return self._server.user_claims(user, scope)


class _Validator(BearerTokenValidator):
    def __init__(self, server: ProviderServer):
        super().__init__()
        self._server = server

    def authenticate_token(self, token_string: str) -> Token | None:
        return self._server.tokens.get(token_string)
