"""The loopback OIDC provider speaks the real protocol: proven with Authlib's own clients, not with itself."""

from __future__ import annotations

import warnings
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from authlib.common.security import generate_token
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import BadSignatureError
from joserfc.jwk import KeySet, RSAKey

from tests.oidc_provider import OIDCProvider

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # Authlib 1.9 warns about its httpx module on import
    from authlib.integrations.httpx_client import OAuth2Client

CALLBACK = "http://localhost:8501/oauth2callback"


@pytest.fixture(scope="module")
def idp():
    with OIDCProvider(redirect_uris=[CALLBACK]) as provider:
        yield provider


@pytest.fixture
def meta(idp):
    idp.auto_approve = None
    return httpx.get(idp.metadata_url, timeout=10).json()


def _client(idp: OIDCProvider, secret: str | None = None) -> OAuth2Client:
    return OAuth2Client(idp.client_id, secret or idp.client_secret, scope="openid email profile",
                        redirect_uri=CALLBACK, code_challenge_method="S256", timeout=10)


def _authorize(client: OAuth2Client, meta: dict, **params) -> tuple[httpx.Response, str, str, str]:
    verifier, nonce = generate_token(48), generate_token(20)
    url, state = client.create_authorization_url(meta["authorization_endpoint"], nonce=nonce,
                                                 code_verifier=verifier, **params)
    return httpx.get(url, timeout=10), verifier, nonce, state


def _validated_claims(idp: OIDCProvider, meta: dict, token: dict, nonce: str) -> CodeIDToken:
    jwks = httpx.get(meta["jwks_uri"], timeout=10).json()
    decoded = jwt.decode(token["id_token"], KeySet.import_key_set(jwks), algorithms=["RS256"])
    claims = CodeIDToken(decoded.claims, decoded.header, {"iss": {"values": [meta["issuer"]]}},
                         {"nonce": nonce, "client_id": idp.client_id, "access_token": token["access_token"]})
    claims.validate()
    return claims


def test_discovery_names_every_endpoint_on_the_issuer_and_offers_s256(idp, meta) -> None:
    assert meta["issuer"] == idp.issuer
    for name in ("authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri", "end_session_endpoint"):
        assert meta[name].startswith(idp.issuer + "/")
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert meta["id_token_signing_alg_values_supported"] == ["RS256"]


def test_code_flow_with_pkce_gives_an_id_token_valid_against_the_jwks(idp, meta) -> None:
    client = _client(idp)
    response, verifier, nonce, state = _authorize(client, meta, login_hint="alice@studio.example")
    assert response.status_code == 302
    location = response.headers["location"]
    assert location.startswith(CALLBACK + "?")
    assert parse_qs(urlsplit(location).query)["state"] == [state]

    token = client.fetch_token(meta["token_endpoint"], authorization_response=location, code_verifier=verifier)
    claims = _validated_claims(idp, meta, token, nonce)
    assert claims["sub"] == "alice"
    assert claims["email"] == "alice@studio.example"
    assert claims["email_verified"] is True
    assert claims["aud"] == [idp.client_id]
    assert idp.stats.code_challenge_methods[-1] == "S256"

    info = client.get(meta["userinfo_endpoint"]).json()
    assert info == {"sub": "alice", "email": "alice@studio.example", "email_verified": True, "name": "Alice Owner"}


def test_an_id_token_does_not_validate_against_another_key(idp, meta) -> None:
    client = _client(idp)
    response, verifier, _, _ = _authorize(client, meta, login_hint="bob")
    token = client.fetch_token(meta["token_endpoint"], authorization_response=response.headers["location"],
                               code_verifier=verifier)
    stranger = KeySet([RSAKey.generate_key(2048, parameters={"kid": jwt.decode(
        token["id_token"], KeySet.import_key_set(httpx.get(meta["jwks_uri"]).json())).header["kid"]})])
    with pytest.raises(BadSignatureError):
        jwt.decode(token["id_token"], stranger, algorithms=["RS256"])


def test_a_wrong_code_verifier_gets_no_token(idp, meta) -> None:
    client = _client(idp)
    response, _, _, _ = _authorize(client, meta, login_hint="alice")
    reply = httpx.post(meta["token_endpoint"], timeout=10, auth=(idp.client_id, idp.client_secret), data={
        "grant_type": "authorization_code", "redirect_uri": CALLBACK, "code_verifier": generate_token(48),
        "code": parse_qs(urlsplit(response.headers["location"]).query)["code"][0]})
    assert reply.status_code == 400
    assert reply.json()["error"] == "invalid_grant"


def test_a_code_is_good_once(idp, meta) -> None:
    client = _client(idp)
    response, verifier, _, _ = _authorize(client, meta, login_hint="alice")
    form = {"grant_type": "authorization_code", "redirect_uri": CALLBACK, "code_verifier": verifier,
            "code": parse_qs(urlsplit(response.headers["location"]).query)["code"][0]}
    first = httpx.post(meta["token_endpoint"], data=form, auth=(idp.client_id, idp.client_secret), timeout=10)
    again = httpx.post(meta["token_endpoint"], data=form, auth=(idp.client_id, idp.client_secret), timeout=10)
    assert first.status_code == 200
    assert again.status_code == 400


def test_a_wrong_client_secret_gets_no_token(idp, meta) -> None:
    client = _client(idp, secret="not-the-secret")
    response, verifier, _, _ = _authorize(client, meta, login_hint="alice")
    reply = httpx.post(meta["token_endpoint"], timeout=10, auth=(idp.client_id, "not-the-secret"), data={
        "grant_type": "authorization_code", "redirect_uri": CALLBACK, "code_verifier": verifier,
        "code": parse_qs(urlsplit(response.headers["location"]).query)["code"][0]})
    assert reply.status_code == 401
    assert reply.json()["error"] == "invalid_client"


def test_without_pkce_the_provider_redirects_with_invalid_request(idp, meta) -> None:
    client = OAuth2Client(idp.client_id, idp.client_secret, scope="openid email", redirect_uri=CALLBACK)
    url, _ = client.create_authorization_url(meta["authorization_endpoint"], nonce="n-1", login_hint="alice")
    response = httpx.get(url, timeout=10)
    assert response.status_code == 302
    assert parse_qs(urlsplit(response.headers["location"]).query)["error"] == ["invalid_request"]


def test_an_unregistered_redirect_uri_is_refused_on_the_provider_page(idp, meta) -> None:
    client = OAuth2Client(idp.client_id, idp.client_secret, scope="openid", redirect_uri="http://evil.test/cb",
                          code_challenge_method="S256")
    url, _ = client.create_authorization_url(meta["authorization_endpoint"], nonce="n-2",
                                             code_verifier=generate_token(48), login_hint="alice")
    response = httpx.get(url, timeout=10)
    assert response.status_code == 400
    assert "location" not in response.headers


def test_without_a_hint_the_form_signs_in_whoever_is_clicked(idp, meta) -> None:
    client = _client(idp)
    page, verifier, nonce, _ = _authorize(client, meta)
    assert page.status_code == 200
    assert "Sign in as Bob Member" in page.text
    chosen = httpx.post(str(page.request.url), data={"user": "bob"}, timeout=10)
    assert chosen.status_code == 302
    token = client.fetch_token(meta["token_endpoint"], authorization_response=chosen.headers["location"],
                               code_verifier=verifier)
    assert _validated_claims(idp, meta, token, nonce)["email"] == "bob@studio.example"


def test_deny_on_the_form_returns_access_denied(idp, meta) -> None:
    page, _, _, _ = _authorize(_client(idp), meta)
    denied = httpx.post(str(page.request.url), data={"deny": "1"}, timeout=10)
    assert parse_qs(urlsplit(denied.headers["location"]).query)["error"] == ["access_denied"]


def test_auto_approve_signs_in_the_configured_user_and_reports_unverified_email(idp, meta) -> None:
    idp.auto_approve = "mallory"
    client = _client(idp)
    response, verifier, nonce, _ = _authorize(client, meta)
    token = client.fetch_token(meta["token_endpoint"], authorization_response=response.headers["location"],
                               code_verifier=verifier)
    claims = _validated_claims(idp, meta, token, nonce)
    assert (claims["sub"], claims["email_verified"]) == ("mallory", False)


def test_userinfo_refuses_a_made_up_token(idp, meta) -> None:
    reply = httpx.get(meta["userinfo_endpoint"], headers={"Authorization": "Bearer made-up"}, timeout=10)
    assert reply.status_code == 401


def test_end_session_returns_only_to_a_registered_address(idp, meta) -> None:
    back = httpx.get(meta["end_session_endpoint"], timeout=10,
                     params={"client_id": idp.client_id, "post_logout_redirect_uri": CALLBACK})
    elsewhere = httpx.get(meta["end_session_endpoint"], timeout=10,
                          params={"client_id": idp.client_id, "post_logout_redirect_uri": "http://evil.test/"})
    assert (back.status_code, back.headers["location"]) == (302, CALLBACK)
    assert elsewhere.status_code == 200


def test_streamlits_own_login_client_completes_against_the_provider(idp) -> None:
    """The OAuth class `st.login` uses (Authlib's Starlette client, S256 turned on from the discovery document)."""
    from authlib.integrations import starlette_client
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.middleware.sessions import SessionMiddleware
    from starlette.responses import JSONResponse
    from starlette.routing import Route
    from streamlit.web.server.starlette.starlette_auth_routes import _create_streamlit_oauth_class

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Starlette 1.x suggests httpx2 for its test client
        from starlette.testclient import TestClient

    idp.auto_approve = "alice"
    oauth = _create_streamlit_oauth_class(starlette_client)()
    oauth.register("default", client_id=idp.client_id, client_secret=idp.client_secret,
                   server_metadata_url=idp.metadata_url,
                   client_kwargs={"scope": "openid email profile", "prompt": "select_account"})

    async def login(request):
        return await oauth.default.authorize_redirect(request, CALLBACK)

    async def callback(request):
        token = await oauth.default.authorize_access_token(request)
        return JSONResponse(dict(token["userinfo"]))

    app = Starlette(routes=[Route("/login", login), Route("/oauth2callback", callback)],
                    middleware=[Middleware(SessionMiddleware, secret_key="x" * 32)])
    with TestClient(app, base_url="http://localhost:8501") as browser:
        to_provider = browser.get("/login", follow_redirects=False)
        assert to_provider.status_code == 302
        query = parse_qs(urlsplit(to_provider.headers["location"]).query)
        assert query["code_challenge_method"] == ["S256"] and query["nonce"]
        back = httpx.get(to_provider.headers["location"], timeout=10)
        assert back.status_code == 302
        user = browser.get(back.headers["location"].removeprefix("http://localhost:8501")).json()
    assert user["email"] == "alice@studio.example"
    assert user["email_verified"] is True
    assert user["nonce"] == query["nonce"][0]
