#!/usr/bin/env bash
# Creates .venv and installs dysts-bench (editable) with everything the demo and the tests need.
# Idempotent: a second run only re-checks what is installed, in a few seconds.
#   bash scripts/setup.sh          # library, learned forecasters and test tools
#   bash scripts/setup.sh --browser   # also Debian's chromium for the leaderboard's browser tests
#   bash scripts/setup.sh --bench     # also the integrator peers of `dysts-bench bench` (the `bench` extra)
set -euo pipefail
unset PYTHONDONTWRITEBYTECODE
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$python" -m venv .venv
fi

stamp=.venv/.dysts-bench-installed
want=$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -c1-16)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    # torch is named in the same pip call so that pip takes the CPU wheel on disk, never a CUDA build.
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -e ".[learn,test]" "torch==2.13.0"
    echo "$want" > "$stamp"
fi

apt_install() {  # Debian packages, as root or through sudo
    if [ "$(id -u)" = 0 ]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
    else
        sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive sudo apt-get install -y -qq "$@" >/dev/null
    fi
}

if [ "${1:-}" = "--browser" ] && ! command -v chromium >/dev/null 2>&1; then
    # Debian's chromium: the browser tests drive it headless; playwright never downloads a browser here.
    apt_install chromium
fi

if [ "${1:-}" = "--bench" ]; then
    # numbalsoda is a source package on PyPI whose build compiles Fortran (LSODA): it needs gfortran.
    command -v gfortran >/dev/null 2>&1 || apt_install gfortran
    .venv/bin/python -m pip install --quiet -e ".[learn,test,bench]" "torch==2.13.0"
fi

# Compile the solver once into numba's on-disk cache (half a minute the first time, a second after), so that
# the first real command does not pay for it; importing the package compiles nothing.
.venv/bin/python -c "import dysts_bench as db; db.integrate(db.get_system('Lorenz'), t_end=1.0, dt_out=0.1)"
