// Checks every answer the integration tests' services recorded (record_responses: one JSON line per
// answer) against the OpenAPI document of the service that gave it: the operation must be documented
// for its path pattern and method, the status among its responses, the content type among that
// response's, and a JSON body must validate against the schema (Ajv's JSON Schema 2020-12, which
// OpenAPI 3.1 uses). Usage: node validate_responses.js NODE.json RELAY.json DIR. Exits 1 on a mismatch
// or when DIR holds no answers at all; prints one line per kind of answer checked.
'use strict';
const fs = require('fs');
const path = require('path');
const Ajv2020 = require('ajv/dist/2020').default;
const addFormats = require('ajv-formats');

const [nodeFile, relayFile, dir] = process.argv.slice(2);
if (!dir) {
  console.error('usage: node validate_responses.js NODE.json RELAY.json DIR');
  process.exit(2);
}
const documents = { node: JSON.parse(fs.readFileSync(nodeFile, 'utf8')), relay: JSON.parse(fs.readFileSync(relayFile, 'utf8')) };

const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
// Each document is added whole under its service's name, so that a schema's "#/components/..." becomes
// "<service>#/components/...".
function rebase(value, service) {
  if (Array.isArray(value)) return value.map((v) => rebase(v, service));
  if (value && typeof value === 'object') {
    const out = {};
    for (const [k, v] of Object.entries(value)) out[k] = k === '$ref' && typeof v === 'string' && v.startsWith('#/') ? service + v : rebase(v, service);
    return out;
  }
  return value;
}
for (const [service, document] of Object.entries(documents)) ajv.addSchema({ $id: service, components: rebase(document.components, service) });

// Follows a "#/components/<kind>/<name>" reference within `document`.
function resolve(document, value) {
  while (value && value.$ref) {
    const parts = value.$ref.replace(/^#\//, '').split('/');
    value = parts.reduce((at, part) => (at ? at[part.replace(/~1/g, '/').replace(/~0/g, '~')] : undefined), document);
  }
  return value;
}

const validators = new Map();
function validatorFor(service, schema) {
  const key = service + JSON.stringify(schema);
  if (!validators.has(key)) validators.set(key, ajv.compile(rebase(schema, service)));
  return validators.get(key);
}

const failures = [];
const checked = new Map();
let answers = 0;
const files = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.jsonl')) : [];
for (const file of files) {
  const lines = fs.readFileSync(path.join(dir, file), 'utf8').split('\n').filter((l) => l.length > 0);
  for (const line of lines) {
    const answer = JSON.parse(line);
    answers++;
    const where = `${answer.service} ${answer.method} ${answer.pattern || '(no route)'} ${answer.status}`;
    const fail = (why) => failures.push(`${where}: ${why}\n    body: ${String(answer.body).slice(0, 300)}`);
    checked.set(where, (checked.get(where) || 0) + 1);
    if (!answer.pattern) continue;  // the router's own 404/405 for paths no operation has
    const document = documents[answer.service];
    const item = resolve(document, document.paths[answer.pattern]);
    if (!item) { fail('the path is not in the document'); continue; }
    const operation = item[answer.method.toLowerCase()];
    if (!operation) { fail('the method is not in the document'); continue; }
    const response = resolve(document, operation.responses[String(answer.status)] || operation.responses.default);
    if (!response) { fail('the status is not among the operation\'s responses'); continue; }
    if (!response.content) continue;
    const type = answer.content_type.split(';')[0].trim();
    const media = response.content[type];
    if (!media) { fail(`content type ${type} is not among ${Object.keys(response.content).join(', ')}`); continue; }
    if (!type.endsWith('json') || !media.schema) continue;
    let body;
    try {
      body = JSON.parse(answer.body);
    } catch (e) {
      fail('the body is not JSON');
      continue;
    }
    const validate = validatorFor(answer.service, media.schema);
    if (!validate(body)) fail(ajv.errorsText(validate.errors));
  }
}
for (const [where, count] of [...checked.entries()].sort()) console.log(`${String(count).padStart(6)}  ${where}`);
console.log(`${answers} answers in ${files.length} files checked; ${failures.length} do not match their documents`);
for (const f of failures.slice(0, 50)) console.log('MISMATCH ' + f);
if (answers === 0) {
  console.error(`no answers were recorded in ${dir}: run the integration tests first`);
  process.exit(1);
}
process.exit(failures.length === 0 ? 0 : 1);
