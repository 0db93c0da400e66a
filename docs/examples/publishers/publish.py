#!/usr/bin/env python3
"""Publishes one eda event from Python with the standard library only.

Builds a wire-format-v1 envelope (docs/envelope.schema.json) and POSTs it to the producer's
HTTP entry for any language, POST /api/v1/events, which validates it and publishes it with
publisher confirms. No AMQP client needed.

    python3 publish.py --client cliente02 --product product-a            # publish
    python3 publish.py --client cliente02 --print                        # only print the envelope
    EDA_API_TOKEN=... python3 publish.py --url http://producer:8080/api/v1/events --client c1
"""
import argparse
import datetime
import json
import os
import socket
import sys
import urllib.error
import urllib.request
import uuid


def envelope(args) -> dict:
    event_type = f"{args.company}.{args.app}.event.{args.client}.{args.action}"
    return {
        "client": args.client,
        "namespace": args.namespace or args.client,
        "environment": args.environment,
        "archtype": args.archtype,
        "hardware": args.hardware,
        "product": args.product,
        "MessageAttributes": {
            "event_type": {"Type": "String", "Value": event_type},
            "published_on": datetime.datetime.now(datetime.timezone.utc)
            .isoformat(timespec="microseconds")
            .replace("+00:00", "Z"),
            "trace_id": args.trace_id or str(uuid.uuid4()),
            "retrace_intent": "0",
        },
        "Metadata": {"host": socket.gethostname(), "origing": "Cloud", "publisher": args.app},
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--url", default=os.environ.get("EDA_EVENTS_URL", "http://127.0.0.1:8080/api/v1/events"))
    p.add_argument("--token", default=os.environ.get("EDA_API_TOKEN"), help="bearer token (EDA_API_TOKEN)")
    p.add_argument("--company", default=os.environ.get("EDA_COMPANY", "mycompany"))
    p.add_argument("--app", default="shop", help="the publishing application (event type segment)")
    p.add_argument("--action", default="published")
    p.add_argument("--client", required=True)
    p.add_argument("--namespace")
    p.add_argument("--product", default="product-a")
    p.add_argument("--environment", default="development")
    p.add_argument("--archtype", default="saas")
    p.add_argument("--hardware", default="dedicated")
    p.add_argument("--trace-id", help="join an existing trace instead of starting one")
    p.add_argument("--print", action="store_true", help="print the envelope, publish nothing")
    args = p.parse_args()

    body = envelope(args)
    if args.print:
        json.dump(body, sys.stdout)
        print()
        return 0
    request = urllib.request.Request(args.url, data=json.dumps(body).encode(), method="POST")
    request.add_header("content-type", "application/json")
    if args.token:
        request.add_header("authorization", f"Bearer {args.token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            print(response.read().decode())
    except urllib.error.HTTPError as error:
        print(f"{error.code} {error.reason}: {error.read().decode()}", file=sys.stderr)
        return 1
    except urllib.error.URLError as error:
        print(f"cannot reach {args.url}: {error.reason}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
