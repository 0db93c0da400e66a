#!/usr/bin/env bash
# kubernetes-validate (PyPI): the chart tests validate `helm template` against the Kubernetes
# API schemas it bundles (no network at test time).
set -euo pipefail
. "$(dirname "$0")/lib/python-tool.sh"
python_tool kubernetes-validate 1.37.0 venv kubernetes-validate
