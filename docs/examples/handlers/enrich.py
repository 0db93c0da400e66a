#!/usr/bin/env python3
"""An eda consumer handler in Python: enriches an order with its tenant sizing.

Contract (consumer run --exec): the event envelope arrives as JSON on stdin, with
EDA_TRACE_ID, EDA_EVENT_TYPE, EDA_RETRACE_INTENT and EDA_MESSAGE_ID in the environment.
Print a JSON object on stdout to publish it as the body of the follow-up event
<company>.<NAME>.event.<client>.<ACTION>; print nothing to publish nothing.
Exit 0 = done, exit 75 = try again later, any other code = give up (stderr is the reason).

    consumer run --name enrich --bind '*.*.event.*.published' \
        --exec 'python3 docs/examples/handlers/enrich.py' --emit enriched
"""
import json
import os
import sys

# Sizing per hardware tier: what a later step needs and the order does not say.
TIERS = {
    "dedicated": {"cpu": "4", "memory": "8Gi"},
    "shared": {"cpu": "1", "memory": "2Gi"},
}


def main() -> int:
    try:
        event = json.load(sys.stdin)
    except json.JSONDecodeError as error:
        print(f"stdin is not JSON: {error}", file=sys.stderr)
        return 1
    client = event.get("client")
    if not client:
        print("the event has no client field", file=sys.stderr)
        return 1
    hardware = str(event.get("hardware", "shared")).lower()
    sizing = TIERS.get(hardware)
    if sizing is None:
        print(f"unknown hardware tier {hardware!r}", file=sys.stderr)
        return 1
    print(f"enriching {client} ({hardware})", file=sys.stderr)
    json.dump(
        {
            "client": client,
            "namespace": event.get("namespace", client),
            "product": event.get("product"),
            "hardware": hardware,
            "sizing": sizing,
            "enriched_by": "python",
            "source_event_type": os.environ.get("EDA_EVENT_TYPE"),
        },
        sys.stdout,
    )
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
