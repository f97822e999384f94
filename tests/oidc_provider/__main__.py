"""Run the test identity provider standalone and print the `[auth]` section that points at it.

    python -m tests.oidc_provider --redirect-uri http://localhost:8501/oauth2callback [--port 0] [--auto-approve alice]
"""

from __future__ import annotations

import argparse
import secrets
import signal
import threading

from tests.oidc_provider.server import OIDCProvider


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.oidc_provider")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--redirect-uri", action="append", required=True, help="the app's /oauth2callback URL")
    parser.add_argument("--auto-approve", default=None, help="sign this user in without the form (sub or email)")
    args = parser.parse_args()
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    with OIDCProvider(redirect_uris=args.redirect_uri, auto_approve=args.auto_approve, port=args.port) as idp:
        section = idp.auth_section(redirect_uri=args.redirect_uri[0], cookie_secret=secrets.token_hex(32))
        print("[auth]")
        for key, value in section.items():
            print(f'{key} = "{value}"')
        print(flush=True)
        done.wait()


if __name__ == "__main__":
    main()
