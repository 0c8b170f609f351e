#!/usr/bin/env node
// Looks a code up in codebookd from Node.js: @grpc/grpc-js, with the .proto files of proto/
// loaded at run time by @grpc/proto-loader.
//
//   (cd client/node && npm ci) && node client/node/example.js 127.0.0.1:50051 ICD10CM E11.9
'use strict';
const path = require('path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const [address, system, code] = process.argv.slice(2);
const definition = protoLoader.loadSync('codebook/v1/terminology.proto', {
  includeDirs: [path.join(__dirname, '..', '..', 'proto')],
  keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true,
});
const { Terminology } = grpc.loadPackageDefinition(definition).codebook.v1;
// grpc.credentials.createSsl(fs.readFileSync('ca.pem')) for a TLS server.
const client = new Terminology(address, grpc.credentials.createInsecure());
client.Lookup({ system, code }, { deadline: Date.now() + 5000 }, (err, answer) => {
  if (err) {
    console.error(`lookup failed: ${err.code} ${err.details}`);
    process.exit(1);
  }
  console.log(answer.release.version, answer.concept.code, answer.concept.display);
  client.close();
});
