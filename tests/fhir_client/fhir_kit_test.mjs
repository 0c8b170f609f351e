// A FHIR client nobody here wrote, fhir-kit-client from npm, against codebookd's FHIR port:
// the capability statement, a lookup for a date of service, a validation for a date of service
// (a code a release deleted), an expansion read page by page, and one error.
// Usage: node fhir_kit_test.mjs BASE_URL [BEARER_TOKEN]   (run by tests/fhir_test.cc)
import { Client } from 'fhir-kit-client';

const [baseUrl, token] = process.argv.slice(2);
const client = new Client({ baseUrl, ...(token ? { bearerToken: token } : {}) });
const ICD = 'http://hl7.org/fhir/sid/icd-10-cm';
let checks = 0;

function check(ok, what, detail) {
  if (!ok) {
    console.error(`fhir-kit-client: FAILED: ${what}${detail ? ': ' + JSON.stringify(detail) : ''}`);
    process.exit(1);
  }
  checks++;
}

function param(parameters, name) {
  const p = (parameters.parameter || []).find((x) => x.name === name);
  if (!p) return undefined;
  const key = Object.keys(p).find((k) => k.startsWith('value'));
  return key ? p[key] : p.resource;
}

const capabilities = await client.capabilityStatement();
check(capabilities.resourceType === 'CapabilityStatement', 'metadata is a CapabilityStatement');
check(capabilities.fhirVersion === '4.0.1', 'FHIR 4.0.1', capabilities.fhirVersion);

// $lookup by GET: the release in force on the date of service answers.
const lookup = await client.operation({
  name: '$lookup', resourceType: 'CodeSystem', method: 'GET',
  input: { system: ICD, code: 'T81.32XA', date: '2024-05-01' },
});
check(param(lookup, 'version') === 'FY2024', 'lookup answered by FY2024', lookup);
check((param(lookup, 'display') || '').length > 0, 'lookup has a display', lookup);

// $validate-code by POST with a Parameters resource: FY2025 deleted the code.
const validation = await client.operation({
  name: '$validate-code', resourceType: 'CodeSystem',
  input: {
    resourceType: 'Parameters',
    parameter: [
      { name: 'url', valueUri: ICD },
      { name: 'code', valueCode: 'T81.32XA' },
      { name: 'date', valueDate: '2024-10-01' },
    ],
  },
});
check(param(validation, 'result') === false, 'not valid on 2024-10-01', validation);
check(param(validation, 'version') === 'FY2025', 'validated against FY2025', validation);
check((param(validation, 'message') || '').includes('FY2025'), 'message names FY2025', validation);

// $expand of an implicit value set, page by page.
const url = `${ICD}?fhir_vs=isa/E11`;
const seen = new Set();
let total = -1;
for (let offset = 0; total < 0 || offset < total; offset += 2) {
  const page = await client.operation({
    name: '$expand', resourceType: 'ValueSet', method: 'GET',
    input: { url, count: 2, offset },
  });
  check(page.resourceType === 'ValueSet', 'an expansion is a ValueSet', page);
  total = page.expansion.total;
  check(page.expansion.offset === offset, 'the page starts at its offset', page.expansion);
  for (const c of page.expansion.contains || []) seen.add(c.code);
}
check(total >= 3 && seen.size === total, `every concept once over the pages (${seen.size} of ${total})`);

// An error: an unknown code system is a 404 with an OperationOutcome.
try {
  await client.operation({
    name: '$lookup', resourceType: 'CodeSystem', method: 'GET',
    input: { system: 'http://example.org/no-such-system', code: 'x' },
  });
  check(false, 'an unknown system fails');
} catch (e) {
  const status = e.response && e.response.status;
  let data = e.response && e.response.data;
  if (typeof data === 'string') data = JSON.parse(data);
  check(status === 404, 'unknown system: 404', status);
  check(data && data.resourceType === 'OperationOutcome', 'with an OperationOutcome', data);
  check(data.issue[0].code === 'not-found', 'issue not-found', data.issue);
}
console.log(`fhir-kit-client: ${checks} checks passed`);
