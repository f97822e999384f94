"""A real OpenID Connect provider on loopback for tests, built with Authlib.

    from tests.oidc_provider import OIDCProvider

    with OIDCProvider(redirect_uris=[...], auto_approve="alice") as idp:
        ...  # point [auth] server_metadata_url at idp.metadata_url

Authorization code flow with PKCE (S256, required) and a required nonce, an
RS256-signed id_token, a JWKS, userinfo and end-session. Users are fixed
(`DEFAULT_USERS`); the one signed in is `auto_approve`, else `login_hint`, else the
button clicked on the provider's own small page. Standalone for a separately
started app: `python -m tests.oidc_provider --redirect-uri http://localhost:8501/oauth2callback`.
"""

from tests.oidc_provider.authorization import DEFAULT_USERS, Stats, TestUser
from tests.oidc_provider.server import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, OIDCProvider

__all__ = ["DEFAULT_CLIENT_ID", "DEFAULT_CLIENT_SECRET", "DEFAULT_USERS", "OIDCProvider", "Stats", "TestUser"]
