"""The project served by a real WSGI server (gunicorn) in a child process, as in production."""

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(url, headers=None, timeout=30):
    """``(status, body text)`` of a GET, 4xx and 5xx included."""
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def get_json(url, headers=None):
    status, body = get(url, headers)
    return status, json.loads(body)


class Server:
    def __init__(self, base_url, log_path):
        self.base_url = base_url
        self.log_path = log_path

    def url(self, path):
        return f"{self.base_url}{path}"

    def log(self):
        return self.log_path.read_text()


@contextmanager
def running_server(
    database_url, *, env=None, threads=4, workers=1, app="ledgerflow.wsgi", startup_timeout=60
):
    """gunicorn serving ``ledgerflow.wsgi`` on a free local port; stopped (and its log kept
    readable until the block ends) afterwards."""
    port = free_port()
    child_env = {
        **os.environ,
        "LEDGERFLOW_ENV": "test",
        "DATABASE_URL": database_url,
        "LOG_FORMAT": "json",
        "PYTHONUNBUFFERED": "1",
        **(env or {}),
    }
    with tempfile.TemporaryDirectory(prefix="lf-server-") as tmp:
        log_path = Path(tmp) / "server.log"
        with log_path.open("w") as log:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "--bind",
                    f"127.0.0.1:{port}",
                    "--workers",
                    str(workers),
                    "--threads",
                    str(threads),
                    "--graceful-timeout",
                    "5",
                    app,
                ],
                cwd=REPO_ROOT,
                env=child_env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        server = Server(f"http://127.0.0.1:{port}", log_path)
        try:
            deadline = time.monotonic() + startup_timeout
            while True:
                if process.poll() is not None:
                    raise AssertionError(f"the server exited at start-up:\n{server.log()}")
                try:
                    if get(server.url("/health/live"), timeout=2)[0] == 200:
                        break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    raise AssertionError(f"the server did not start:\n{server.log()}")
                time.sleep(0.2)
            yield server
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
