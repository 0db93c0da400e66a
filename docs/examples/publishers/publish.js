#!/usr/bin/env node
// Publishes one eda event from Node.js with the standard library only.
//
// Builds a wire-format-v1 envelope (docs/envelope.schema.json) and POSTs it to the producer's
// HTTP entry for any language, POST /api/v1/events, which validates it and publishes it with
// publisher confirms. No AMQP client needed.
//
//   node publish.js --client cliente02 --product product-a       # publish
//   node publish.js --client cliente02 --print                   # only print the envelope
//   EDA_API_TOKEN=... node publish.js --url http://producer:8080/api/v1/events --client c1
'use strict';

const crypto = require('crypto');
const http = require('http');
const https = require('https');
const os = require('os');

function parseArgs(argv) {
  const opts = {
    url: process.env.EDA_EVENTS_URL || 'http://127.0.0.1:8080/api/v1/events',
    token: process.env.EDA_API_TOKEN,
    company: process.env.EDA_COMPANY || 'mycompany',
    app: 'shop',
    action: 'published',
    product: 'product-a',
    environment: 'development',
    archtype: 'saas',
    hardware: 'dedicated',
    print: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    if (flag === '--print') { opts.print = true; continue; }
    if (!flag.startsWith('--') || i + 1 >= argv.length) {
      throw new Error(`unexpected argument ${flag}`);
    }
    const key = flag.slice(2).replace(/-([a-z])/g, (_, c) => c.toUpperCase());
    opts[key] = argv[++i];
  }
  if (!opts.client) throw new Error('--client is required');
  return opts;
}

function envelope(o) {
  const app = o.app;
  return {
    client: o.client,
    namespace: o.namespace || o.client,
    environment: o.environment,
    archtype: o.archtype,
    hardware: o.hardware,
    product: o.product,
    MessageAttributes: {
      event_type: { Type: 'String', Value: `${o.company}.${app}.event.${o.client}.${o.action}` },
      published_on: new Date().toISOString(),
      trace_id: o.traceId || crypto.randomUUID(),
      retrace_intent: '0',
    },
    Metadata: { host: os.hostname(), origing: 'Cloud', publisher: app },
  };
}

function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${error.message}\n`);
    process.exit(2);
  }
  const body = JSON.stringify(envelope(opts));
  if (opts.print) {
    process.stdout.write(body + '\n');
    return;
  }
  const url = new URL(opts.url);
  const headers = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  const client = url.protocol === 'https:' ? https : http;
  const req = client.request(url, { method: 'POST', headers, timeout: 10000 }, (res) => {
    let answer = '';
    res.on('data', (c) => { answer += c; });
    res.on('end', () => {
      if (res.statusCode >= 200 && res.statusCode < 300) {
        process.stdout.write(answer + '\n');
      } else {
        process.stderr.write(`${res.statusCode}: ${answer}\n`);
        process.exitCode = 1;
      }
    });
  });
  req.on('timeout', () => req.destroy(new Error('timed out')));
  req.on('error', (error) => {
    process.stderr.write(`cannot reach ${opts.url}: ${error.message}\n`);
    process.exitCode = 1;
  });
  req.end(body);
}

main();
