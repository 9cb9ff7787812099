"""Starting the Rasa server with its secrets from the environment, never on the command line.

    python -m bot.serve [any `rasa run` options]      (what `make run` and `make serve` do)

It runs Rasa's own `rasa run` in this process, adding:

- `--enable-api` with Rasa's JWT authentication: every call to the HTTP API (`/model/parse`,
  `/conversations/...`, `/status`) needs `Authorization: Bearer <token>`, a token signed with
  RASA_JWT_SECRET (`python -m bot api-token` makes one). A token is never accepted in the URL
  (`?token=` would end up in proxy and access logs), and the secret is not in the command line,
  so `ps` does not show it. Without RASA_JWT_SECRET, a random secret is kept in var/api-secret
  (readable by its owner only): fine on one machine; production sets the variable (docs/deploy.md);
- `--interface 127.0.0.1` unless an interface is given: the server listens only where the
  reverse proxy can reach it;
- one thread for NumPy's and scikit-learn's maths libraries (OpenBLAS, OpenMP), set before
  they load. A message's sums are far too small to share out, and the library's second thread
  spun on the other core after each one: under `make bench-load` it burnt 19.5 ms of CPU per
  message, against 24 ms for all the server's real work. ONNX Runtime keeps its own threads.
  A variable already set wins;
- models run node after node (bot/graph_runner.py) instead of through dask's scheduler, and
  the policies work out a conversation's past states (bot/past_states.py) and the rules that
  apply (bot/policies.py) with less work: the same answers.
"""

from __future__ import annotations

import os

# Before anything imports NumPy (see above).
for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import datetime as dt  # noqa: E402
import secrets  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import List, Optional  # noqa: E402

from bot.content import PROJECT_DIR  # noqa: E402

SECRET_VARIABLE = "RASA_JWT_SECRET"
SECRET_FILE = PROJECT_DIR / "var" / "api-secret"
JWT_METHOD = "HS256"


def api_secret(path: Path = SECRET_FILE) -> str:
    """RASA_JWT_SECRET, or the secret kept in var/api-secret (made the first time)."""
    value = os.environ.get(SECRET_VARIABLE, "")
    if value:
        return value
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="utf-8").strip()
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(secrets.token_hex(32))
    return path.read_text(encoding="utf-8").strip()


def api_token(days: float = 1, secret: Optional[str] = None, username: str = "it-team") -> str:
    """A token for Rasa's HTTP API, with the admin role, valid for `days` days."""
    import jwt

    expires = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=days)
    payload = {"user": {"username": username, "role": "admin"}, "exp": expires}
    return jwt.encode(payload, secret or api_secret(), algorithm=JWT_METHOD)


def rasa_arguments(arguments: List[str]) -> List[str]:
    """`rasa run` with our arguments, the API on with JWT, and a local interface by default."""
    refused = {"--auth-token", "-t", "--jwt-secret"} & {a.split("=")[0] for a in arguments}
    if refused:
        raise SystemExit(f"{', '.join(sorted(refused))}: secrets come from the environment "
                         f"({SECRET_VARIABLE}), never from the command line.")
    extra = ["--enable-api", "--jwt-method", JWT_METHOD, "--jwt-secret", api_secret()]
    if "--interface" not in arguments and "-i" not in arguments:
        extra += ["--interface", "127.0.0.1"]
    return ["rasa", "run", *arguments, *extra]


def main(arguments: Optional[List[str]] = None) -> None:
    from bot.quiet import quiet_warnings

    quiet_warnings()
    from rasa.__main__ import main as rasa_main

    from bot import graph_runner, past_states, policies

    graph_runner.apply()
    policies.apply()
    past_states.apply()

    # Rasa's command line parser reads sys.argv; the process's own command line (what `ps`
    # shows) stays as it was typed, without the secret.
    sys.argv = rasa_arguments(sys.argv[1:] if arguments is None else arguments)
    rasa_main()


if __name__ == "__main__":
    main()
