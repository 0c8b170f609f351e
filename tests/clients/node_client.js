#!/usr/bin/env node
// Calls a running codebookd from Node.js with @grpc/grpc-js and @grpc/proto-loader (the .proto
// files are loaded at run time, nothing is generated): Lookup, BatchLookup, LookupStream (basic
// view, two codes a request), DiffReleases and WatchReleases, and prints what it got as one JSON object, which tests/cross_language_test.cc
// compares with the C++ client's answers.
//
// Usage: NODE_PATH=client/node/node_modules node node_client.js HOST:PORT SYSTEM FROM TO CODE...
'use strict';
const path = require('path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const [address, system, from, to, ...codes] = process.argv.slice(2);
const definition = protoLoader.loadSync('codebook/v1/terminology.proto', {
  includeDirs: [path.join(__dirname, '..', '..', 'proto')],
  keepCase: true,   // field names as in the .proto
  longs: Number,    // int64 counts as numbers
  enums: String,    // enum values by name
  defaults: true,
  oneofs: true,
});
const v1 = grpc.loadPackageDefinition(definition).codebook.v1;
const client = new v1.Terminology(address, grpc.credentials.createInsecure());
const deadline = (seconds) => ({ deadline: new Date(Date.now() + seconds * 1000) });

const unary = (method, request) => new Promise((resolve, reject) =>
  client[method](request, deadline(10), (err, response) => (err ? reject(err) : resolve(response))));

function diff(request) {
  return new Promise((resolve, reject) => {
    let changes = 0;
    let summary = null;
    const call = client.DiffReleases(request, deadline(60));
    call.on('data', (m) => {
      changes += m.changes.length;
      if (m.summary) summary = m.summary;
    });
    call.on('error', reject);
    call.on('end', () => resolve({ changes, added: summary.added, deleted: summary.deleted,
                                   changed_codes: summary.changed_codes }));
  });
}

// A bidirectional LookupStream: every request written, then the answers in order.
function lookupStream(requests) {
  return new Promise((resolve, reject) => {
    const results = [];
    const call = client.LookupStream(deadline(10));
    call.on('data', (m) => {
      for (const r of m.results) results.push([r.requested_code, r.outcome, r.concept ? r.concept.display : '']);
    });
    call.on('error', reject);
    call.on('end', () => resolve(results));
    for (const r of requests) call.write(r);
    call.end();
  });
}

// The feed stays open for live events: read `count` events, then cancel.
function watch(request, count) {
  return new Promise((resolve, reject) => {
    const events = [];
    const call = client.WatchReleases(request, deadline(10));
    call.on('data', (e) => {
      events.push([Number(e.sequence), e.type, e.release.version, e.release.checksum]);
      if (events.length === count) {
        call.cancel();
        resolve(events);
      }
    });
    call.on('error', (err) => {
      if (err.code !== grpc.status.CANCELLED) reject(err);
    });
  });
}

async function main() {
  const out = {};
  const found = await unary('Lookup', { system, code: codes[0], selector: { version: to } });
  out.lookup = { code: found.concept.code, display: found.concept.display, release: found.release.version };
  try {
    await unary('Lookup', { system: 'NOSUCH', code: codes[0] });
    out.lookup_error = 'OK';
  } catch (err) {
    out.lookup_error = Object.keys(grpc.status).find((k) => grpc.status[k] === err.code);
  }
  const batch = await unary('BatchLookup', { system, codes, selector: { version: to } });
  out.batch = batch.results.map((r) => [r.requested_code, r.outcome, r.concept ? r.concept.display : '']);
  const requests = [];
  for (let i = 0; i < codes.length; i += 2) {
    requests.push({ system, codes: codes.slice(i, i + 2), selector: { version: to }, view: 'CONCEPT_VIEW_BASIC' });
  }
  out.stream = await lookupStream(requests);
  out.diff = await diff({ system, from_version: from, to_version: to });
  out.watch = await watch({ system, after_sequence: 0 }, 2);
  console.log(JSON.stringify(out));
  client.close();
}

main().catch((err) => {
  console.error(`node client: ${err.message}`);
  process.exit(1);
});
