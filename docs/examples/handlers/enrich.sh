#!/bin/sh
# An eda consumer handler in plain POSIX sh (no jq needed): acknowledges an event.
#
# Contract (consumer run --exec): the event envelope arrives as JSON on stdin, with
# EDA_TRACE_ID, EDA_EVENT_TYPE, EDA_RETRACE_INTENT and EDA_MESSAGE_ID in the environment.
# Print a JSON object on stdout to publish it as the body of the follow-up event
# <company>.<NAME>.event.<client>.<ACTION>; print nothing to publish nothing.
# Exit 0 = done, exit 75 = try again later, any other code = give up (stderr is the reason).
#
#   consumer run --name audit --bind '#' --exec 'sh docs/examples/handlers/enrich.sh' --emit seen
set -eu

# The client is the fourth segment of the event type: no JSON parsing needed.
client=$(printf '%s' "${EDA_EVENT_TYPE:?}" | cut -d. -f4)
# Count the bytes of the envelope (and drain stdin so the engine's write never blocks).
size=$(wc -c | tr -d ' ')

echo "seen ${EDA_EVENT_TYPE} (attempt ${EDA_RETRACE_INTENT:-0})" >&2
printf '{"client":"%s","seen_event_type":"%s","envelope_bytes":%s,"attempt":%s,"enriched_by":"sh"}\n' \
  "$client" "$EDA_EVENT_TYPE" "$size" "${EDA_RETRACE_INTENT:-0}"
