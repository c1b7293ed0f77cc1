"""Deliberately broken forecasters: the harness must record their failures and go on."""

from __future__ import annotations

import time

import numpy as np


class _Base:
    def __init__(self, seed: int = 0):
        self.seed = seed

    def fit(self, series, *, dt):
        self.last_ = series[0][-1]
        return self


class Raises(_Base):
    name = "raises"

    def predict(self, context, horizon):
        raise RuntimeError("boom")


class ReturnsNaN(_Base):
    name = "returns-nan"

    def predict(self, context, horizon):
        out = np.tile(context[-1], (horizon, 1))
        out[horizon // 2] = np.nan
        return out


class WrongShape(_Base):
    name = "wrong-shape"

    def predict(self, context, horizon):
        return np.zeros((horizon + 1, context.shape[1]))


class SleepsForever(_Base):
    name = "sleeps-forever"

    def predict(self, context, horizon):
        time.sleep(3600)


class FitFails(_Base):
    name = "fit-fails"

    def fit(self, series, *, dt):
        raise ValueError("cannot fit")

    def predict(self, context, horizon):
        return np.zeros((horizon, context.shape[1]))


class SlowLastValue(_Base):
    """A working forecaster that takes a second to fit: time for a test to kill the run midway."""

    name = "slow-last-value"

    def fit(self, series, *, dt):
        time.sleep(1.0)
        return self

    def predict(self, context, horizon):
        return np.tile(context[-1], (horizon, 1))


class PrintsFakeEvents(_Base):
    """Prints lines shaped like the worker's events, claiming a VPT of 999."""

    name = "prints-fake-events"

    def predict(self, context, horizon):
        import json

        for ic in range(10):
            print(json.dumps({"event": "record", "record": {"system": "Lorenz", "ic": ic, "status": "ok",
                                                            "message": "", "metrics": {"vpt": 999.0}}}))
        print("plain text on stdout")
        return np.tile(context[-1], (horizon, 1))


class FloodsStderr(_Base):
    name = "floods-stderr"

    def predict(self, context, horizon):
        import sys

        sys.stderr.write("x" * 5_000_000 + "\n")
        return np.tile(context[-1], (horizon, 1))


class LeavesAChild(_Base):
    """Starts a background `sleep 60` and writes its pid to the file `pidfile`."""

    name = "leaves-a-child"

    def __init__(self, pidfile: str = "", seed: int = 0):
        super().__init__(seed)
        self.pidfile = pidfile

    def predict(self, context, horizon):
        import subprocess
        from pathlib import Path

        child = subprocess.Popen(["sleep", "60"])
        Path(self.pidfile).write_text(str(child.pid))
        return np.tile(context[-1], (horizon, 1))


class Unpicklable(_Base):
    name = "unpicklable"

    def __init__(self, seed: int = 0):
        import threading

        super().__init__(seed)
        self.lock = threading.Lock()

    def predict(self, context, horizon):
        return np.tile(context[-1], (horizon, 1))


class CustomBaseException(BaseException):
    pass


class RaisesSystemExit(_Base):
    name = "raises-system-exit"

    def predict(self, context, horizon):
        raise SystemExit(3)


class RaisesKeyboardInterrupt(_Base):
    name = "raises-keyboard-interrupt"

    def fit(self, series, *, dt):
        raise KeyboardInterrupt

    def predict(self, context, horizon):
        return np.tile(context[-1], (horizon, 1))


class RaisesBaseException(_Base):
    name = "raises-base-exception"

    def predict(self, context, horizon):
        raise CustomBaseException("odd")


LONG = 1000  # horizons above this are the harness's long free runs (the demo's are 2000 points)


class FailsOnLongRuns(_Base):
    """Forecasts the short horizon; raises on a long free run."""

    name = "fails-on-long-runs"

    def predict(self, context, horizon):
        if horizon > LONG:
            raise MemoryError("too long")
        return np.tile(context[-1], (horizon, 1))


class HangsOnLongRuns(_Base):
    """Forecasts the short horizon; never finishes a long free run."""

    name = "hangs-on-long-runs"

    def predict(self, context, horizon):
        if horizon > LONG:
            time.sleep(3600)
        return np.tile(context[-1], (horizon, 1))
