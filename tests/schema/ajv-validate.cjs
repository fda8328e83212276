// ajv's verdicts on the differential corpus: node ajv-validate.cjs NODE_MODULES_PARENT CORPUS
// prints one line per pair: 1 (valid), 0 (invalid) or E (ajv refused the schema), in order.
// ajv 8 in draft 2020-12 mode (ajv/dist/2020) with ajv-formats' full formats; strict mode is
// off so that ajv does not refuse schemas for style (a "minimum" without a "type"...), which
// draft 2020-12 allows and we accept.
"use strict";
const fs = require("fs");
const path = require("path");
const [dir, corpus] = process.argv.slice(2);
const Ajv2020 = require(path.join(dir, "node_modules/ajv/dist/2020")).default;
const addFormats = require(path.join(dir, "node_modules/ajv-formats")).default;

const ajv = new Ajv2020({ strict: false, logger: false, allErrors: false });
addFormats(ajv);
const compiled = new Map();
const out = [];
for (const line of fs.readFileSync(corpus, "utf8").split("\n")) {
  if (!line.trim()) continue;
  const pair = JSON.parse(line);
  const key = JSON.stringify(pair.schema);
  let validate = compiled.get(key);
  if (validate === undefined) {
    try {
      validate = ajv.compile(pair.schema);
    } catch (e) {
      validate = null;
    }
    compiled.set(key, validate);
  }
  out.push(validate === null ? "E" : validate(pair.instance) ? "1" : "0");
}
process.stdout.write(out.join("\n") + "\n");
