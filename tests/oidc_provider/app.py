"""The provider's HTTP face (Starlette): discovery, JWKS, authorize (with a tiny account picker), token,
userinfo and end-session. The protocol itself is Authlib's, in `authorization.py`.
"""

from __future__ import annotations

import html
import json
from typing import Any
from urllib.parse import urlencode

from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import InvalidRequestError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from tests.oidc_provider.authorization import PlainRequest, ProviderServer, TestUser


def _response(result: tuple[int, Any, list[tuple[str, str]]]) -> Response:
    status, body, headers = result
    if isinstance(body, dict):
        body = json.dumps(body)
    return Response(body, status_code=status, headers=dict(headers))


async def _plain(request: Request) -> PlainRequest:
    form: list[tuple[str, str]] = []
    if request.method == "POST":
        form = [(k, str(v)) for k, v in (await request.form()).multi_items()]
    return PlainRequest(request.method, str(request.url), request.headers,
                        query=list(request.query_params.multi_items()), form=form)


def metadata(issuer: str) -> dict[str, Any]:
    return {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/authorize",
        "token_endpoint": f"{issuer}/token",
        "userinfo_endpoint": f"{issuer}/userinfo",
        "jwks_uri": f"{issuer}/jwks",
        "end_session_endpoint": f"{issuer}/logout",
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": ["openid", "email", "profile"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
        "grant_types_supported": ["authorization_code"],
        "claims_supported": ["sub", "email", "email_verified", "name", "nonce"],
    }


def _picker(request: Request, users: list[TestUser]) -> HTMLResponse:
    action = html.escape(f"/authorize?{request.url.query}", quote=True)
    buttons = "".join(
        f'<button type="submit" name="user" value="{html.escape(u.sub, quote=True)}">'
        f"Sign in as {html.escape(u.name)} ({html.escape(u.email)})</button><br>"
        for u in users
    )
    page = (
        "<!doctype html><html><head><title>Test identity provider</title></head><body>"
        "<h1>Test identity provider</h1>"
        f'<form method="post" action="{action}">{buttons}'
        '<button type="submit" name="deny" value="1">Deny</button></form></body></html>'
    )
    return HTMLResponse(page)


def create_app(server: ProviderServer, settings: dict[str, Any]) -> Starlette:
    """`settings["auto_approve"]` (a user's sub or email, or None) is read on every request, so tests can change it."""

    def find_user(hint: str | None) -> TestUser | None:
        if not hint:
            return None
        hint = hint.strip().lower()
        return next((u for u in server.users.values() if hint in (u.sub.lower(), u.email.lower())), None)

    async def discovery(request: Request) -> Response:
        return JSONResponse(metadata(server.issuer))

    async def jwks(request: Request) -> Response:
        return JSONResponse(server.public_jwks())

    async def authorize(request: Request) -> Response:
        plain = await _plain(request)
        try:
            grant = server.get_consent_grant(plain, end_user=None)
        except OAuth2Error as error:
            # No trustworthy redirect_uri (unknown client or redirect): say so here, as real providers do.
            return PlainTextResponse(f"Authorization request refused: {error.error}", status_code=400)
        if server.require_pkce and not plain.payload.data.get("code_challenge"):
            error = InvalidRequestError("This provider requires PKCE (an S256 code_challenge).",
                                        redirect_uri=grant.redirect_uri, state=plain.payload.state)
            return _response(server.handle_error_response(plain, error))
        if plain.form.get("deny"):
            return _response(server.create_authorization_response(plain, grant_user=None, grant=grant))
        user = (find_user(plain.form.get("user")) or find_user(settings.get("auto_approve"))
                or find_user(plain.payload.data.get("login_hint")))
        if user is None:
            return _picker(request, list(server.users.values()))
        plain.user = user
        return _response(server.create_authorization_response(plain, grant_user=user, grant=grant))

    async def token(request: Request) -> Response:
        return _response(server.create_token_response(await _plain(request)))

    async def userinfo(request: Request) -> Response:
        try:
            return JSONResponse(server.userinfo(await _plain(request)))
        except OAuth2Error as error:
            return JSONResponse({"error": error.error}, status_code=401,
                                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})

    async def logout(request: Request) -> Response:
        target = request.query_params.get("post_logout_redirect_uri")
        client = server.query_client(request.query_params.get("client_id", ""))
        if target and client is not None and client.check_redirect_uri(target):
            state = request.query_params.get("state")
            return RedirectResponse(target + (f"?{urlencode({'state': state})}" if state else ""), status_code=302)
        return PlainTextResponse("Signed out.")

    return Starlette(routes=[
        Route("/.well-known/openid-configuration", discovery),
        Route("/jwks", jwks),
        Route("/authorize", authorize, methods=["GET", "POST"]),
        Route("/token", token, methods=["POST"]),
        Route("/userinfo", userinfo, methods=["GET", "POST"]),
        Route("/logout", logout),
    ])
