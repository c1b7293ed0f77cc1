"""Scoring in a separate process, so that a time limit can be enforced by stopping it.

The harness pickles (forecaster, job) with cloudpickle into a file and starts
`python -m dysts_bench.evaluate.worker FILE FD`; the worker writes one JSON event per line to the
pipe FD, not to its stdout, so that a forecaster's prints can neither break nor forge the events.
Its stdout and stderr go to a log file whose last lines explain a crash. The worker runs in its own
process group, killed as a whole at the end, so that no child of the forecaster outlives it.
This isolates crashes and hangs; it is not a sandbox: code that hunts for the pipe can still write to it.
A plain subprocess (not multiprocessing) works inside Dask workers too, which may not fork children.
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import signal
import subprocess
import sys
import tempfile
import time
from typing import Any

from ..forecast.registry import USER_MODULE_PREFIX
from .scoring import Emit, Job, long_event, score_system

_LOG_TAIL = 4096  # bytes of the worker's output kept for an error message


def run_with_timeout(forecaster: Any, job: Job, emit: Emit, timeout: float) -> None:
    """Score a system in a child process; a fit or a forecast that takes longer than `timeout` s is stopped."""
    import cloudpickle

    _pickle_forecaster_module_by_value(forecaster, cloudpickle)
    with tempfile.NamedTemporaryFile(suffix=".pkl", delete=False) as fh:
        payload = fh.name
        try:
            cloudpickle.dump((forecaster, job), fh)
        except Exception as exc:
            fh.close()
            os.unlink(payload)
            emit({"event": "failed", "status": "error",
                  "message": f"{type(forecaster).__name__} cannot be sent to a worker process ({type(exc).__name__}: "
                             f"{exc}); run without --timeout"})
            return
    read_end, write_end = os.pipe()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with tempfile.TemporaryFile() as log:
        try:
            child = subprocess.Popen(
                [sys.executable, "-m", "dysts_bench.evaluate.worker", payload, str(write_end)],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, pass_fds=(write_end,), env=env,
                start_new_session=True)
        finally:
            os.close(write_end)
        try:
            try:
                _follow(child, read_end, log, job, emit, timeout)
            finally:
                os.close(read_end)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, signal.SIGKILL)
            child.wait()
            os.unlink(payload)


def _read_line(fd: int, selector: selectors.BaseSelector, buffer: bytearray, deadline: float) -> bytes | None:
    """The pipe's next line with its newline; at the pipe's end what is left (b"" or a torn line); None if
    nothing completes a line before `deadline`."""
    # Our own buffer, not a buffered file's readline: that reads ahead, and lines it has read ahead are
    # invisible to `select`, which would then wait for the next write while they sit unread (a worker that
    # wrote its last records at once and then hung in a long run was reported as stuck before them).
    while b"\n" not in buffer:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not selector.select(remaining):
            return None
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            line = bytes(buffer)
            buffer.clear()
            return line
        buffer += chunk
    end = buffer.index(b"\n") + 1
    line = bytes(buffer[:end])
    del buffer[:end]
    return line


def _follow(child: subprocess.Popen, fd: int, log: Any, job: Job, emit: Emit, timeout: float) -> None:
    """Relay the child's events from the pipe `fd`; on silence longer than the time limit, stop it and
    record time-outs. A long free run gets `long_run_limit`.
    """
    selector = selectors.DefaultSelector()
    selector.register(fd, selectors.EVENT_READ)
    buffer = bytearray()
    n_ics = n_long = None
    done = done_long = 0
    phase = "reading the data"
    limit = timeout
    deadline = time.monotonic() + max(timeout, 60.0)  # reading data and imports get at least a minute
    while True:
        line = _read_line(fd, selector, buffer, deadline)
        if line is None or not line.endswith(b"\n"):
            if line is None:
                status, message = "timeout", f"{phase} did not finish within {limit:g} s; the worker was stopped"
            else:  # end of the pipe (or a torn line): the worker died
                child.wait()
                why = _last_line(log) or f"exit code {child.returncode}"
                status, message = "error", f"the worker process died while {phase}: {why}"
            _fill(job, emit, n_ics, done, status, message)
            for ic in range(done_long, n_long or 0):
                emit(long_event(ic, status, message if ic == done_long else f"not run: {message}"))
            return
        event = json.loads(line)
        emit(event)
        if event["event"] == "data":
            n_ics, n_long = event["n_ics"], event.get("n_long", 0)
            phase = "fit" if job.refit else "predict"
        elif event["event"] == "fitted":
            phase = "predict"
        elif event["event"] == "record":
            done += 1
        elif event["event"] == "long":
            done_long += 1
        if n_ics is not None and done == n_ics:
            if done_long == n_long:
                return
            phase = "a long free run"
            limit = long_run_limit(timeout, job)
        deadline = time.monotonic() + limit


def long_run_limit(timeout: float, job: Job) -> float:
    """The time limit of one long free run: the forecast's, scaled by its length over the horizon."""
    return timeout * max(1.0, (job.long_length or 0) / job.horizon)


def _last_line(log: Any) -> str:
    """The last non-empty line the worker wrote to its stdout or stderr."""
    size = log.seek(0, os.SEEK_END)
    log.seek(max(0, size - _LOG_TAIL))
    lines = log.read().decode(errors="replace").strip().splitlines()
    return lines[-1].strip() if lines else ""


def _fill(job: Job, emit: Emit, n_ics: int | None, done: int, status: str, message: str) -> None:
    """Records for the initial conditions the stopped worker did not reach."""
    if n_ics is None:
        emit({"event": "failed", "status": status, "message": message})
        return
    for ic in range(done, n_ics):
        text = message if ic == done else f"not run: {message}"
        emit({"event": "record", "record": {"system": job.system, "ic": ic, "status": status, "message": text,
                                            "metrics": {}}})


def _pickle_forecaster_module_by_value(forecaster: Any, cloudpickle: Any) -> None:
    # Classes loaded from a file path live in modules the child cannot import: send their code along.
    name = type(forecaster).__module__
    if name.startswith(USER_MODULE_PREFIX):
        cloudpickle.register_pickle_by_value(sys.modules[name.split(".")[0]])


def main(path: str, fd: int) -> None:
    """Child side: unpickle (forecaster, job), score, write events as JSON lines to the pipe `fd`."""
    import pickle

    # The forecaster's own subprocesses must not inherit the channel; stdout and stderr are other files.
    os.set_inheritable(fd, False)
    channel = os.fdopen(fd, "w", buffering=1)
    with open(path, "rb") as fh:
        forecaster, job = pickle.load(fh)

    def emit(event: dict[str, Any]) -> None:
        channel.write(json.dumps(event) + "\n")
        channel.flush()

    score_system(forecaster, job, emit)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
