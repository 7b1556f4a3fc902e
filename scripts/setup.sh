#!/usr/bin/env bash
# Create or reuse the project's virtual environment and install Theseus with its dev tools.
# Also installs bubblewrap (the preferred sandbox backend) from Debian when we can; without it
# Theseus falls back to a network namespace or rlimits, and `theseus doctor` says which.
set -euo pipefail
python="${1:-python3}"
venv="${2:-.venv}"

if ! command -v bwrap >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing bubblewrap (sandbox backend) with apt-get" >&2
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap) >/dev/null 2>&1 \
      || echo "setup: could not install bubblewrap; the sandbox will use a weaker backend" >&2
  else
    echo "setup: bubblewrap not found; install it (apt-get install bubblewrap) for the strongest sandbox" >&2
  fi
fi

if [ ! -x "$venv/bin/python" ]; then
  echo "setup: creating virtual environment in $venv" >&2
  "$python" -m venv "$venv"
fi
# Some machines' pip configuration names package folders that do not exist; pip warns about
# each one on every install. Those lines say nothing about this project, so drop them.
quiet_pip() { "$venv/bin/python" -m pip "$@" 2> >(grep -v '^WARNING: Location' >&2 || true); }
quiet_pip install -q --disable-pip-version-check --upgrade pip >/dev/null
echo "setup: installing theseus and its development tools into $venv" >&2
quiet_pip install -q --disable-pip-version-check -e '.[dev]'
