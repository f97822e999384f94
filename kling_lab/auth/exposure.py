"""Is this server reachable from other machines, can anyone sign in, and if not, the sentence that says so.

Exposed means Streamlit listens on something other than loopback (`server.address`,
resolved as Streamlit resolves it: `~/.streamlit/config.toml`, then the project's and
the script's `.streamlit/config.toml`, then `STREAMLIT_SERVER_ADDRESS`, then a
`--server.address` flag; unset means every interface), or the operator set
`KLING_LAB_REQUIRE_LOGIN=1`. A sign-in method is configured when the owner password is
set, or when `[auth]` in `.streamlit/secrets.toml` has what `st.login` checks before it
starts (`redirect_uri`, `cookie_secret`, and a provider with `client_id`,
`client_secret` and `server_metadata_url`) and somebody is on the allow-list.
An exposed server without one must not start: `startup_refusal` gives the sentence.
"""

from __future__ import annotations

import ipaddress
import os
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from kling_lab.auth.password import MIN_PASSWORD_CHARS, OWNER_PASSWORD_ENV, configured_password
from kling_lab.auth.roles import MEMBERS_ENV, OWNERS_ENV, load_role_config

REQUIRE_LOGIN_ENV = "KLING_LAB_REQUIRE_LOGIN"
ADDRESS_ENV = "STREAMLIT_SERVER_ADDRESS"
_PROVIDER_KEYS = ("client_id", "client_secret", "server_metadata_url")
_MIN_COOKIE_SECRET_CHARS = 14  # below this Streamlit (joserfc) warns the key is too weak


def streamlit_config_files(cwd: Path, script_path: Path | None = None, home: Path | None = None) -> list[Path]:
    """The config.toml files Streamlit reads, lowest precedence first."""
    files = [(home or Path.home()) / ".streamlit" / "config.toml", Path(cwd) / ".streamlit" / "config.toml"]
    if script_path is not None:
        script_level = Path(script_path).resolve().parent / ".streamlit" / "config.toml"
        if script_level not in files:
            files.append(script_level)
    return files


def _flag_value(argv: Sequence[str], flag: str) -> str | None:
    value: str | None = None
    for i, arg in enumerate(argv):
        if arg == flag and i + 1 < len(argv):
            value = argv[i + 1]
        elif arg.startswith(flag + "="):
            value = arg.split("=", 1)[1]
    return value


def server_option(config_files: Sequence[Path], name: str) -> object:
    """`[server] <name>` from the last of Streamlit's config files that sets it (None when none does)."""
    value: object = None
    for path in config_files:
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError):
            continue
        server = data.get("server")
        if isinstance(server, dict) and name in server:
            value = server[name]
    return value


def server_address_from(
    config_files: Sequence[Path], environ: Mapping[str, str], argv: Sequence[str] = ()
) -> str | None:
    """`server.address` as Streamlit resolves it (None when unset: Streamlit then listens on every interface)."""
    configured = server_option(config_files, "address")
    address = environ.get(ADDRESS_ENV) or (configured if isinstance(configured, str) else None)
    return _flag_value(argv, "--server.address") or address


def is_loopback_address(address: str | None) -> bool:
    """True when a bind address only accepts connections from this machine."""
    if address is None or not address.strip():
        return False
    text = address.strip().strip("[]").lower()
    if text == "localhost":
        return True
    try:
        return ipaddress.ip_address(text).is_loopback
    except ValueError:
        return False


def _truthy(value: object) -> bool:
    return str(value).strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Exposure:
    exposed: bool
    reason: str
    """Why, as the end of a sentence: "it listens on 0.0.0.0, every network interface"."""
    address: str | None


def assess_exposure(address: str | None, environ: Mapping[str, str]) -> Exposure:
    if _truthy(environ.get(REQUIRE_LOGIN_ENV, "")):
        return Exposure(True, f"{REQUIRE_LOGIN_ENV} is set", address)
    if address is None or not address.strip():
        return Exposure(True, "server.address is not set, so it listens on every network interface", None)
    text = address.strip()
    if text.startswith("unix://"):
        return Exposure(True, f"it listens on the socket {text}, which a proxy can serve to the network", text)
    if is_loopback_address(text):
        return Exposure(False, f"it listens on {text}, this machine only", text)
    if text in ("0.0.0.0", "::"):  # noqa: S104 - a name to compare, not a bind
        return Exposure(True, f"it listens on {text}, every network interface", text)
    return Exposure(True, f"it listens on {text}, which other machines can reach", text)


@dataclass(frozen=True)
class SignInMethods:
    oidc_providers: tuple[str, ...] = ()
    """Names to pass to `st.login`: "default" for a flat [auth] section, else each [auth.<name>]."""
    owner_password: bool = False
    problems: tuple[str, ...] = ()
    """Sentences about configuration that was found but cannot be used."""

    @property
    def any(self) -> bool:
        return bool(self.oidc_providers) or self.owner_password


def _as_mapping(value: object) -> Mapping[str, object] | None:
    if isinstance(value, Mapping):
        return value
    to_dict = getattr(value, "to_dict", None)
    return to_dict() if callable(to_dict) else None


def oidc_providers(secrets_map: Mapping[str, object] | None) -> tuple[tuple[str, ...], list[str]]:
    """The `st.login` providers `[auth]` configures completely, and a sentence for each incomplete one."""
    try:
        auth = _as_mapping((secrets_map or {}).get("auth"))
    except Exception:  # noqa: BLE001 - st.secrets raises when no secrets file exists
        auth = None
    if auth is None:
        return (), []
    problems: list[str] = []
    for key in ("redirect_uri", "cookie_secret"):
        if not auth.get(key):
            problems.append(f"[auth] in .streamlit/secrets.toml has no {key}.")
    redirect_uri = str(auth.get("redirect_uri") or "")
    if redirect_uri and not redirect_uri.rstrip("/").endswith("/oauth2callback"):
        problems.append("[auth] redirect_uri must be this app's address ending in /oauth2callback.")
    cookie_secret = str(auth.get("cookie_secret") or "")
    if cookie_secret and len(cookie_secret) < _MIN_COOKIE_SECRET_CHARS:
        problems.append(f"[auth] cookie_secret is shorter than {_MIN_COOKIE_SECRET_CHARS} characters; "
                        "use a long random value.")
    sections: dict[str, Mapping[str, object]] = {}
    if any(key in auth for key in _PROVIDER_KEYS):
        sections["default"] = auth
    for name, value in auth.items():
        section = _as_mapping(value)
        if section is not None and name != "client_kwargs":
            sections[str(name)] = section
    if not sections:
        problems.append("[auth] in .streamlit/secrets.toml names no identity provider "
                        "(client_id, client_secret and server_metadata_url).")
    ready: list[str] = []
    for name, section in sections.items():
        missing = [key for key in _PROVIDER_KEYS if not section.get(key)]
        label = "[auth]" if name == "default" else f"[auth.{name}]"
        if "_" in name:
            problems.append(f"{label}: provider names cannot contain an underscore.")
        elif missing:
            problems.append(f"{label} in .streamlit/secrets.toml has no {', '.join(missing)}.")
        else:
            ready.append(name)
    if problems:
        return (), problems
    return tuple(ready), []


def configured_sign_in(environ: Mapping[str, str], secrets_map: Mapping[str, object] | None = None) -> SignInMethods:
    providers, problems = oidc_providers(secrets_map)
    if providers:
        roles = load_role_config(environ, secrets_map)
        problems.extend(roles.problems)
        if not roles.anyone_listed:
            problems.append(f"Sign-in with an identity provider is set up, but nobody is allowed in: list "
                            f"addresses or @domains in {OWNERS_ENV} or {MEMBERS_ENV}.")
            providers = ()
    password = configured_password(environ, secrets_map)
    if password is not None and len(password) < MIN_PASSWORD_CHARS:
        problems.append(f"{OWNER_PASSWORD_ENV} is shorter than {MIN_PASSWORD_CHARS} characters, "
                        "so it is not used.")
        password = None
    return SignInMethods(oidc_providers=providers, owner_password=password is not None, problems=tuple(problems))


def startup_refusal(exposure: Exposure, methods: SignInMethods) -> str | None:
    """None when the server may start; otherwise the plain sentence that says why not and how to fix it."""
    if not exposure.exposed or methods.any:
        return None
    found = (" " + " ".join(methods.problems)) if methods.problems else ""
    return (
        f"Kling Lab will not start: {exposure.reason}, and no sign-in is set up, so anyone who can reach it "
        f"could spend your keys.{found} To share it, set {OWNER_PASSWORD_ENV} (at least {MIN_PASSWORD_CHARS} "
        "characters) in the environment or .streamlit/secrets.toml for a one-person demo server, or add an "
        "[auth] section to .streamlit/secrets.toml (redirect_uri, cookie_secret, client_id, client_secret, "
        f"server_metadata_url) and list who may sign in in {OWNERS_ENV} or {MEMBERS_ENV}. To keep it on "
        'this machine only, set address = "127.0.0.1" under [server] in .streamlit/config.toml.'
    )


def current_exposure(
    environ: Mapping[str, str] | None = None, argv: Sequence[str] = (), script_path: Path | None = None
) -> Exposure:
    """The exposure of a server about to be started from the current directory."""
    env = os.environ if environ is None else environ
    files = streamlit_config_files(Path.cwd(), script_path)
    return assess_exposure(server_address_from(files, env, argv), env)
