#!/usr/bin/env bash
# schemathesis (PyPI): the producer's tests run it on the served OpenAPI document with
# `--checks all`.
set -euo pipefail
. "$(dirname "$0")/lib/python-tool.sh"
python_tool schemathesis 4.32.5 schemathesis schemathesis
