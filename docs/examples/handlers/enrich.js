#!/usr/bin/env node
// An eda consumer handler in Node.js: enriches an order with its tenant sizing.
//
// Contract (consumer run --exec): the event envelope arrives as JSON on stdin, with
// EDA_TRACE_ID, EDA_EVENT_TYPE, EDA_RETRACE_INTENT and EDA_MESSAGE_ID in the environment.
// Print a JSON object on stdout to publish it as the body of the follow-up event
// <company>.<NAME>.event.<client>.<ACTION>; print nothing to publish nothing.
// Exit 0 = done, exit 75 = try again later, any other code = give up (stderr is the reason).
//
//   consumer run --name enrich --bind '*.*.event.*.published' \
//       --exec 'node docs/examples/handlers/enrich.js' --emit enriched
'use strict';

const TIERS = {
  dedicated: { cpu: '4', memory: '8Gi' },
  shared: { cpu: '1', memory: '2Gi' },
};

let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => { input += chunk; });
process.stdin.on('end', () => {
  let event;
  try {
    event = JSON.parse(input);
  } catch (error) {
    process.stderr.write(`stdin is not JSON: ${error.message}\n`);
    process.exit(1);
  }
  if (!event.client) {
    process.stderr.write('the event has no client field\n');
    process.exit(1);
  }
  const hardware = String(event.hardware || 'shared').toLowerCase();
  const sizing = TIERS[hardware];
  if (!sizing) {
    process.stderr.write(`unknown hardware tier ${JSON.stringify(hardware)}\n`);
    process.exit(1);
  }
  process.stderr.write(`enriching ${event.client} (${hardware})\n`);
  process.stdout.write(JSON.stringify({
    client: event.client,
    namespace: event.namespace || event.client,
    product: event.product,
    hardware,
    sizing,
    enriched_by: 'node',
    source_event_type: process.env.EDA_EVENT_TYPE,
  }) + '\n');
});
