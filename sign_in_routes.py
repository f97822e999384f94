"""The sign-in routes a Streamlit page cannot be: the owner password sets and clears an HttpOnly cookie.

    POST /auth/password    the sign-in form (password=...): right -> session cookie, back to the lab;
                           wrong or rate-limited -> back to the sign-in screen with a code it turns into a sentence
    POST /auth/sign-out    ends the password session on this server and clears the cookie

Both accept only a form sent from the lab's own page (its Origin names the Host it
was sent to), read at most a few KB, and never log the password. `asgi_app.py` adds
`ROUTES` to its own; its lifespan calls `exit_if_exposed_without_sign_in()` first, so
an exposed server without any sign-in method does not start.
"""

from __future__ import annotations

import logging
import os
import sys
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from kling_lab.auth.exposure import assess_exposure, configured_sign_in, startup_refusal
from kling_lab.auth.password import SESSION_SECONDS
from kling_lab.auth.secret_key import SecretKeyError
from kling_lab.auth.sign_in import SESSION_COOKIE, SignInSetup
from kling_lab.lab import STORE_PROBLEMS

log = logging.getLogger("kling_lab.auth")
MAX_FORM_BYTES = 4096


def _setup() -> SignInSetup:
    from components.runtime import get_sign_in

    return get_sign_in()


def _plain(text: str, status: int) -> Response:
    return Response(text, status_code=status, media_type="text/plain; charset=utf-8")


def _back(query: str = "") -> RedirectResponse:
    # 303: the browser follows with a GET, so a reload never posts the password again.
    return RedirectResponse("/" + (f"?{query}" if query else ""), status_code=303)


async def _form(request: Request) -> dict[str, str] | None:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_FORM_BYTES:
        return None
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            return None
    try:
        fields = parse_qs(body.decode("utf-8"), keep_blank_values=True, max_num_fields=10)
    except (UnicodeDecodeError, ValueError):
        return None
    return {name: values[0] for name, values in fields.items() if values}


def _cookie_is_secure(request: Request) -> bool:
    # A Secure cookie is dropped on plain HTTP (loopback tests, a LAN demo); behind HTTPS it is set.
    return request.url.scheme == "https" or request.headers.get("x-forwarded-proto", "").lower() == "https"


async def password_sign_in(request: Request) -> Response:
    """Check the owner password from the sign-in form; a right one gets the session cookie."""
    try:
        setup = _setup()
    except (SecretKeyError, *STORE_PROBLEMS) as exc:
        return _plain(str(exc), 503)
    if not setup.form_origin_ok(request.headers.get("origin"), request.headers.get("host")):
        log.warning("Refused a password sign-in form sent from another site.")
        return _back("sign_in=refused")
    form = await _form(request)
    if form is None:
        return _plain("The sign-in form was too large or garbled.", 400)
    client_key = request.client.host if request.client else "unknown"
    result = setup.password_gate.sign_in(form.get("password", ""), client_key)
    if not result.ok:
        if not setup.password_gate.configured:
            return _back("sign_in=off")
        wait = setup.password_gate.limiter.wait_seconds(client_key)
        return _back(f"sign_in=wait&s={int(wait) + 1}" if wait > 0 else "sign_in=wrong")
    response = _back()
    response.set_cookie(SESSION_COOKIE, result.token or "", max_age=SESSION_SECONDS, path="/", httponly=True,
                        samesite="lax", secure=_cookie_is_secure(request))
    return response


async def sign_out(request: Request) -> Response:
    """End this browser's password session on the server and clear its cookie."""
    try:
        setup = _setup()
    except (SecretKeyError, *STORE_PROBLEMS):
        setup = None  # nothing could have been signed in; the cookie goes either way
    if setup is not None:
        if not setup.form_origin_ok(request.headers.get("origin"), request.headers.get("host")):
            log.warning("Refused a sign-out form sent from another site.")
            return _plain("Sign out from the lab's own page.", 403)
        setup.end_session(request.cookies.get(SESSION_COOKIE))
    response = _back("sign_in=ended")
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=_cookie_is_secure(request))
    return response


ROUTES = [
    Route("/auth/password", password_sign_in, methods=["POST"]),
    Route("/auth/sign-out", sign_out, methods=["POST"]),
]


def startup_problem() -> str | None:
    """The sentence an exposed server without sign-in stops with, from Streamlit's resolved options."""
    from components.runtime import all_secrets, server_address

    environ = dict(os.environ)
    return startup_refusal(assess_exposure(server_address(), environ), configured_sign_in(environ, all_secrets()))


def exit_if_exposed_without_sign_in() -> None:
    """Print the refusal and end the process with exit code 2 when this server must not start."""
    problem = startup_problem()
    if problem is not None:
        print(problem, file=sys.stderr, flush=True)
        os._exit(2)
