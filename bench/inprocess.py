"""CPU per request in one process: Django's WSGI handler called directly, with no
network and no other process in the way.

time.process_time() counts this process's CPU only, so the figure moves less
with the machine's neighbours than requests per second do. What PostgreSQL and
Redis spend answering is not in it.

``python -m bench.inprocess SESSION_KEYS_FILE`` (as the bench runs it, in a fresh
process like a web worker, with the bench's environment) prints seconds per
request for each path as JSON.
"""

from __future__ import annotations

import io
import json
import sys
import time

WARM_UP = 200


def environ(path: str, *, cookie: str = "", session_token: str = "") -> dict:
    env = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "HTTP_HOST": "127.0.0.1",
        "REMOTE_ADDR": "127.0.0.1",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.url_scheme": "http",
    }
    if cookie:
        env["HTTP_COOKIE"] = cookie
    if session_token:
        env["HTTP_X_SESSION_TOKEN"] = session_token
    return env


def _call(handler, env: dict) -> str:
    status: list[str] = []
    body = handler(dict(env, **{"wsgi.input": io.BytesIO()}), lambda s, h, e=None: status.append(s))
    try:
        b"".join(body)
    finally:
        if hasattr(body, "close"):
            body.close()
    return status[0]


def cpu_per_request(handler, requests: list[dict], count: int = 2000) -> float:
    """Seconds of this process's CPU per request (the requests taken in turn),
    after a warm-up; every answer must be a 200."""
    for n in range(WARM_UP):
        status = _call(handler, requests[n % len(requests)])
        assert status.startswith("200"), f"{requests[n % len(requests)]['PATH_INFO']}: {status}"
    started = time.process_time()
    for n in range(count):
        _call(handler, requests[n % len(requests)])
    return (time.process_time() - started) / count


def measure(session_keys: list[str]) -> dict[str, float]:
    from django.core.handlers.wsgi import WSGIHandler

    handler = WSGIHandler()
    paths = {
        "anonymous trivial view": [environ("/livez")],
        "signed-in trivial view": [
            environ("/livez", cookie=f"sessionid={k}") for k in session_keys
        ],
        "dashboard": [environ("/dashboard/", cookie=f"sessionid={k}") for k in session_keys],
        "API /api/v1/exposures": [
            environ("/api/v1/exposures", session_token=k) for k in session_keys
        ],
        "sign-in page": [environ("/accounts/login/code/")],
    }
    return {name: cpu_per_request(handler, requests) for name, requests in paths.items()}


if __name__ == "__main__":
    import django

    django.setup()
    with open(sys.argv[1]) as handle:
        keys = [line.strip() for line in handle if line.strip()]
    print(json.dumps(measure(keys)))
