// The schema oracle of tests/ocppj/test_schema_differential.py: ajv 8 in strict mode with the
// draft-06 meta-schema and ajv-formats, an implementation independent of the engine's
// jsonschema-rs. One JSON line in per payload, {"schema": "<Action>Request", "text": "<payload as
// JSON text>"}, one line out, {"valid": true|false, "errors": [...]}, or {"json": false} when
// JSON.parse refuses the text. The first line is {"dir": "<the ocpp package's schema folder>"};
// every schema there is compiled before the first answer ({"ready": <count>}).
"use strict";
const fs = require("fs");
const path = require("path");
const readline = require("readline");
const Ajv = require("ajv");
const addFormats = require("ajv-formats");
const draft6 = require("ajv/dist/refs/json-schema-draft-06.json");

// strict mode: strictNumbers (Infinity, NaN and the numbers JSON.parse turns into them, 1e400, are
// no numbers) is what changes verdicts and stays an error. The other strict checks judge how a
// schema is written, not payloads, and the OCA schemas break two of them harmlessly ("additionalItems"
// beside a single "items" schema, which draft-06 ignores too; "additionalProperties" on string
// enums): they are logged, counted in the ready answer, not thrown.
const schemaWarnings = [];
const ajv = new Ajv({
  strict: true,
  strictNumbers: true,
  strictSchema: "log",
  strictTypes: "log",
  strictTuples: "log",
  strictRequired: "log",
  allErrors: true,
  logger: { log() {}, warn: (message) => schemaWarnings.push(String(message)), error: console.error },
});
ajv.addMetaSchema(draft6);
addFormats(ajv);
// OCA's annotations, not validation keywords: strict mode refuses unknown keywords otherwise.
ajv.addVocabulary(["javaType", "comment"]);

const validators = new Map();
const lines = readline.createInterface({ input: process.stdin, terminal: false });
const answer = (value) => process.stdout.write(JSON.stringify(value) + "\n");

lines.on("line", (line) => {
  const request = JSON.parse(line);
  if (request.dir !== undefined) {
    for (const name of fs.readdirSync(request.dir).sort()) {
      if (!name.endsWith(".json")) continue;
      // The OCA files start with a byte order mark.
      const text = fs.readFileSync(path.join(request.dir, name), "utf8").replace(/^\uFEFF/, "");
      const schema = JSON.parse(text);
      delete schema.$id; // each file names itself by a urn; they are compiled one by one
      validators.set(name.slice(0, -5), ajv.compile(schema));
    }
    answer({ ready: validators.size, schemaWarnings: [...new Set(schemaWarnings)] });
    return;
  }
  let payload;
  try {
    payload = JSON.parse(request.text);
  } catch (error) {
    answer({ json: false, error: String(error) });
    return;
  }
  const validate = validators.get(request.schema);
  if (validate === undefined) {
    answer({ error: `no schema ${request.schema}` });
    return;
  }
  const valid = validate(payload);
  answer({ json: true, valid, errors: valid ? [] : validate.errors.slice(0, 3) });
});
