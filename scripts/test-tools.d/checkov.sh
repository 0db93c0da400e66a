#!/usr/bin/env bash
# checkov (PyPI): the chart tests run it on `helm template` and accept only the findings listed,
# with their reasons, in tests/fixtures/chart/checkov-accepted.yaml (about 300 MB, a minute).
set -euo pipefail
. "$(dirname "$0")/lib/python-tool.sh"
python_tool checkov 3.3.30 checkov checkov
