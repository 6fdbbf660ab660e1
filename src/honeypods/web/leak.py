"""The dashboard's leak: files that give away the install's honeytokens, and the check of the API
token on the ``/api/`` routes.

Policy, no I/O: a front end deployed with its runtime configuration in a public script and an
``.env`` left in the document root, as real sites do by mistake. ``/config.js`` is linked
from the index page (an intruder reading the page finds it), ``/.env`` is where scanners look.
Both hold the MySQL service login and the API token (core/honeytokens.py's web placement).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any, Final

from honeypods.core import honeytokens
from honeypods.core.honeytokens import DASHBOARD, DASHBOARD_FILES, Honeytokens
from honeypods.web.site import StaticFile

ENV_PATH, CONFIG_PATH = DASHBOARD_FILES
_SCRIPT: Final = f'<script src="{CONFIG_PATH}"></script>\n'


def _config_js(tokens: Honeytokens, product: str) -> bytes:
    host, _, port = tokens.mysql_address.rpartition(":")
    config = {
        "apiBase": "/api/v1",
        "apiToken": tokens.api_token,
        "reporting": {
            # No database named: each install names its databases from its seed (mysql.install),
            # and a reader finds them with SHOW DATABASES as the reporting job does.
            "dsn": f"mysql://{tokens.mysql_user}:{tokens.mysql_password}@{host}:{port}/",
        },
        "sso": {"enabled": True, "provider": "oidc"},
    }
    body = json.dumps(config, indent=2)
    return (
        f"// {product} runtime configuration, rendered at deploy time by ci/render-config.sh.\n"
        f"// TODO(ops): move the tokens to the secret store before the next release.\n"
        f"window.__APP_CONFIG__ = {body};\n"
    ).encode()


def _dotenv(tokens: Honeytokens) -> bytes:
    host, _, port = tokens.mysql_address.rpartition(":")
    lines = [
        "APP_ENV=production",
        "APP_DEBUG=false",
        f"DB_HOST={host}",
        f"DB_PORT={port}",
        f"DB_USERNAME={tokens.mysql_user}",
        f"DB_PASSWORD={tokens.mysql_password}",
        f"OPSCONSOLE_API_TOKEN={tokens.api_token}",
        "SESSION_DRIVER=redis",
    ]
    return ("\n".join(lines) + "\n").encode()


def with_leak(
    files: Mapping[str, StaticFile], tokens: Honeytokens, product: str
) -> dict[str, StaticFile]:
    """The document root with the leaked files, and the index page linking the script.

    Unchanged when this install does not plant tokens in the dashboard.
    """
    out = dict(files)
    if not tokens.planted("db-login", DASHBOARD) and not tokens.planted("api-token", DASHBOARD):
        return out
    index = out.get("/index.html")
    mtime = index.mtime if index is not None else 0
    out[CONFIG_PATH] = StaticFile(_config_js(tokens, product), "application/javascript", mtime)
    out[ENV_PATH] = StaticFile(_dotenv(tokens), "application/octet-stream", mtime)
    if index is not None and _SCRIPT.encode() not in index.body:
        body = index.body.replace(b"</head>", _SCRIPT.encode() + b"</head>", 1)
        out["/index.html"] = StaticFile(body, index.content_type, index.mtime)
    return out


def api_token_in(headers: Mapping[str, str], query: Mapping[str, str], tokens: Honeytokens) -> bool:
    """Whether a request to the API carries the planted token: as a bearer token, an API-key
    header, a Basic password or a query parameter, the ways clients pass one."""
    if not tokens.live("api-token"):
        return False
    candidates = [query.get("token", ""), query.get("api_key", "")]
    candidates.append(headers.get("X-Api-Key", ""))
    auth = headers.get("Authorization", "")
    scheme, _, value = auth.partition(" ")
    if scheme.lower() in ("bearer", "token"):
        candidates.append(value.strip())
    elif scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8", "replace")
        except (binascii.Error, ValueError):
            decoded = ""
        user, _, password = decoded.partition(":")
        candidates += [user, password]
    return any(c and tokens.is_api_token(c) for c in candidates)


def record_api_use(request: Any) -> None:
    """One ``honeytoken.used`` when an API request carries the planted token."""
    tokens = honeytokens.current()
    if not api_token_in(request.headers, request.query, tokens):
        return
    conn = request.transport
    session = conn.get_extra_info("honeypods.session") if conn else None
    if session is not None:
        session.emit(honeytokens.EVENT, tokens.used("api-token", via="web"), rule=honeytokens.RULE)
