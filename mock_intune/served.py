"""``ServedMock``: the mock served by gunicorn in a subprocess, for tests and benchmarks."""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

from .errors import HarnessFailure
from .serve_state import DEFAULT_THREADS, READY_PREFIX, ServeInfo


class ServedMock:
    """Start ``nac-harness mock serve`` in a subprocess on 127.0.0.1, port 0; stop it on exit.

    Use as a context manager; ``info`` (and the shortcuts below) say where it listens and how to
    authenticate. ``env`` adds ``MOCK_INTUNE_*`` settings for the workers.
    """

    def __init__(
        self,
        state_dir: str | Path,
        *,
        workers: int = 2,
        threads: int = DEFAULT_THREADS,
        time_scale: float | None = None,
        env: Mapping[str, str] | None = None,
        app_factory: str | None = None,
        startup_timeout_s: float = 60.0,
        via_cli: bool = False,
    ) -> None:
        self.state_dir = Path(state_dir)
        self.workers = workers
        self.threads = threads
        self.time_scale = time_scale
        self.env = dict(env or {})
        self.app_factory = app_factory
        self.startup_timeout_s = startup_timeout_s
        self.via_cli = via_cli
        """Start through ``nac-harness mock serve`` (the console script's module) instead of ``-m mock_intune.serve``."""
        self.process: subprocess.Popen[bytes] | None = None
        self._info: ServeInfo | None = None
        self.output: list[str] = []
        self._drain: threading.Thread | None = None

    # shortcuts
    @property
    def info(self) -> ServeInfo:
        if self._info is None:
            raise HarnessFailure("the served mock is not running")
        return self._info

    @property
    def base_url(self) -> str:
        return self.info.base_url

    @property
    def ca_file(self) -> str:
        return self.info.ca_file

    @property
    def tenant_id(self) -> str:
        return self.info.tenant_id

    @property
    def client_id(self) -> str:
        return self.info.client_id

    @property
    def client_secret(self) -> str | None:
        return self.info.client_secret

    @property
    def client_cert_file(self) -> str:
        return self.info.client_cert_file

    @property
    def client_key_file(self) -> str:
        return self.info.client_key_file

    @property
    def admin_token(self) -> str:
        return self.info.admin_token

    def command(self) -> list[str]:
        entry = ["harness.cli.main", "mock", "serve"] if self.via_cli else ["mock_intune.serve"]
        cmd = [
            sys.executable,
            "-m",
            *entry,
            "--state-dir",
            str(self.state_dir),
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--workers",
            str(self.workers),
            "--threads",
            str(self.threads),
        ]
        if self.time_scale is not None:
            cmd += ["--time-scale", str(self.time_scale)]
        if self.app_factory:
            cmd += ["--app-factory", self.app_factory]
        return cmd

    def start(self) -> ServedMock:
        if self.process is not None:
            raise HarnessFailure("the served mock is already running")
        env = dict(os.environ)
        env.update(self.env)
        env["PYTHONUNBUFFERED"] = "1"
        self.process = subprocess.Popen(
            self.command(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
        assert self.process.stdout is not None
        fd = self.process.stdout.fileno()
        deadline = time.monotonic() + self.startup_timeout_s
        pending = b""
        # Read the raw pipe (a buffered reader would hide a ready line from select()).
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_READ)
            while self._info is None:
                left = deadline - time.monotonic()
                if left <= 0 or not sel.select(timeout=left):
                    self.stop()
                    raise HarnessFailure("the served mock did not start in time:\n" + "".join(self.output))
                chunk = os.read(fd, 65536)
                if not chunk:
                    code = self.process.wait()
                    self.process = None
                    self.output.append(pending.decode(errors="replace"))
                    raise HarnessFailure(
                        f"the served mock exited with status {code}:\n" + "".join(self.output)
                    )
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for raw in lines:
                    line = raw.decode(errors="replace") + "\n"
                    self.output.append(line)
                    if line.startswith(READY_PREFIX):
                        self._info = ServeInfo(**json.loads(line[len(READY_PREFIX) :]))
        if pending:
            self.output.append(pending.decode(errors="replace"))
        self._drain = threading.Thread(target=self._drain_output, daemon=True)
        self._drain.start()
        return self

    def _drain_output(self) -> None:
        proc = self.process
        if proc is None or proc.stdout is None:
            return
        for line in proc.stdout:
            self.output.append(line.decode(errors="replace"))

    def stop(self, timeout_s: float = 15.0, sig: signal.Signals = signal.SIGTERM) -> int | None:
        """``sig`` (SIGTERM: gunicorn's graceful stop), then SIGKILL after ``timeout_s``; returns the exit status."""
        proc, self.process = self.process, None
        self._info = None
        if proc is None:
            return None
        if proc.poll() is None:
            proc.send_signal(sig)
            try:
                proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        if self._drain is not None:
            self._drain.join(timeout=5)
        if proc.stdout is not None:
            proc.stdout.close()
        return proc.returncode

    def __enter__(self) -> ServedMock:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
