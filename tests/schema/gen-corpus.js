#!/usr/bin/env node
// Generate the differential corpus of core/text/jsonschema: node gen-corpus.js [SEED] [COUNT]
// writes COUNT (default 720) lines {"schema": ..., "instance": ...} to stdout, the same for the
// same seed (default 14), with no dependency but node. tests/schema/corpus.jsonl is its output
// for the defaults; tests/schema/test-schema-ajv.sh has ajv and us judge every pair.
//
// Schemas are drawn from the subset docs/jsonschema.md lists, the way structured-output
// schemas look (objects of typed fields, nullable fields, enums, arrays of objects, $defs and
// recursive $ref) plus each keyword alone. Half the instances are built to match the schema,
// half are then mutated at one random place, so both verdicts are common. Left out on purpose,
// where ajv and we differ by design (docs/jsonschema.md): patterns with \b, \s or PCRE-only
// syntax, integers beyond 2^53, and contains
// beside prefixItems (an ajv bug).
"use strict";

const seed = Number(process.argv[2] || 14);
const count = Number(process.argv[3] || 720);

// mulberry32: small, seedable, the same on every node.
let state = seed >>> 0;
function rand() {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const int = (lo, hi) => lo + Math.floor(rand() * (hi - lo + 1));
const pick = (a) => a[Math.floor(rand() * a.length)];
const chance = (p) => rand() < p;
function shuffle(a) {
  for (let i = a.length - 1; i > 0; i--) {
    const j = int(0, i);
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

const NAMES = ["id", "name", "price", "tags", "items", "a/b", "t~x", "é", "count", "ok", "note"];
const STRINGS = ["", "a", "ab", "abc", "hello", "Hello", "héllo", "日本語", "😀", "😀😀x", "x y",
  "12", "007", "A1", "a\nb", "null", "true", "-", "longer than five", "١٢٣", "a_1"];
const NUMBERS = [0, 1, -1, 2, 3, 5, 7, 10, 12, 100, -3, 0.5, 1.5, 2.5, 0.1, 0.2, 0.3, 0.7, 1e-3,
  1e21, 9007199254740991, -0.5, 3.75];
const FORMATS = {
  "date-time": ["2024-02-29T12:30:00Z", "2023-02-29T12:30:00Z", "2024-01-01t00:00:00+05:30",
    "2024-01-01 10:00:00.123-02:00", "2024-01-01T10:00:00", "2024-13-01T10:00:00Z",
    "2016-12-31T23:59:60Z", "2016-12-31T23:59:60+01:00", "2024-01-01T24:00:00Z", "2024-01-01"],
  date: ["2024-02-29", "2023-02-29", "2000-02-29", "1900-02-29", "2024-04-31", "2024-4-01",
    "20240101", "2024-12-31", "0000-01-01", "2024-01-01T00:00:00Z"],
  time: ["10:00:00Z", "10:00:00", "23:59:60Z", "23:59:60+00:00", "10:00:00.5+01:00",
    "10:00:00+0100", "10:00:00+01", "25:00:00Z", "10:60:00Z", "10:00:00+24:00", "10:00:00.Z"],
  email: ["a@b.co", "first.last@example.com", "a..b@example.com", "a@b", "@example.com",
    "a b@example.com", "x+tag@sub.example.org", "A@EXAMPLE.COM", "a@-b.com"],
  uuid: ["123e4567-e89b-12d3-a456-426614174000", "123E4567-E89B-12D3-A456-426614174000",
    "urn:uuid:123e4567-e89b-12d3-a456-426614174000", "123e4567e89b12d3a456426614174000",
    "123e4567-e89b-12d3-a456-42661417400g"],
  uri: ["https://example.com/a?b=c#d", "mailto:a@b.co", "urn:isbn:0451450523", "example.com",
    "/relative/path", "http://[::1]:80/", "http://a b.com/", "ftp://ftp.example.org/x.txt"],
  "uri-reference": ["/relative/path", "../up", "https://example.com/", "#frag", "a b", "?q=1"],
  ipv4: ["127.0.0.1", "255.255.255.255", "256.0.0.1", "1.2.3", "01.2.3.4", "0.0.0.0"],
  ipv6: ["::1", "2001:db8::8a2e:370:7334", "::ffff:192.0.2.1", "2001:db8:::1", "fe80::1%eth0",
    "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8:9"],
  hostname: ["example.com", "a-b.example.org", "-bad.com", "a..b", "localhost", "x".repeat(64) + ".com"],
  duration: ["P1D", "PT1H30M", "P1Y2M3DT4H5M6S", "P", "PT", "P1W", "P1W2D", "1D"],
};
// ECMA-262 patterns that our translation to PCRE keeps equal (docs/jsonschema.md): classes,
// anchors, quantifiers, alternation, \d and \w (ASCII in both), \u escapes.
const PATTERNS = ["^[a-z]+$", "^[A-Z][a-z]*$", "^[0-9]{3}$", "ab", "^(foo|bar)$", "^.{2,4}$",
  "[0-9]", "^$", "x$", "^a.c$", "^[^0-9]*$", "(ab)+", "^\\d+$", "^\\w+$", "\\d", "^[\\w ]*$",
  "^h\\u00e9", "\\D"];

function randomValue(depth) {
  const r = int(0, depth > 2 ? 5 : 7);
  switch (r) {
    case 0: return null;
    case 1: return chance(0.5);
    case 2: case 3: return pick(NUMBERS);
    case 4: case 5: return pick(STRINGS);
    case 6: return Array.from({ length: int(0, 3) }, () => randomValue(depth + 1));
    default: {
      const o = {};
      for (let i = int(0, 3); i > 0; i--) o[pick(NAMES)] = randomValue(depth + 1);
      return o;
    }
  }
}

function numberSchema(integer) {
  const s = { type: integer ? "integer" : "number" };
  if (chance(0.4)) s.minimum = pick([0, 1, -2, 0.5, 2.5]);
  if (chance(0.4)) s.maximum = pick([3, 10, 100, 2.5, 0]);
  if (chance(0.2)) s.exclusiveMinimum = pick([0, 1, 0.5]);
  if (chance(0.2)) s.exclusiveMaximum = pick([10, 3, 2.5]);
  if (chance(0.3)) s.multipleOf = pick(integer ? [2, 3, 5] : [2, 0.5, 0.1, 0.25, 3, 0.01]);
  return s;
}

function stringSchema() {
  const s = { type: "string" };
  if (chance(0.3)) s.minLength = int(0, 3);
  if (chance(0.3)) s.maxLength = int(1, 5);
  if (chance(0.25)) s.pattern = pick(PATTERNS);
  else if (chance(0.3)) s.format = pick(Object.keys(FORMATS));
  return s;
}

function objectSchema(depth, defs) {
  const s = { type: "object", properties: {} };
  const names = shuffle(NAMES.slice()).slice(0, int(1, 4));
  for (const n of names) s.properties[n] = schema(depth + 1, defs);
  if (chance(0.7)) s.required = names.filter(() => chance(0.6));
  const ap = int(0, 3);
  if (ap === 0) s.additionalProperties = false;
  else if (ap === 1) s.additionalProperties = schema(depth + 1, defs);
  else if (ap === 2 && chance(0.3)) s.additionalProperties = true;
  if (chance(0.15)) s.minProperties = int(0, 2);
  if (chance(0.15)) s.maxProperties = int(1, 3);
  if (chance(0.1)) s.patternProperties = { "^t": { type: "string" } };
  if (chance(0.08)) s.propertyNames = { maxLength: 4 };
  if (chance(0.08)) s.dependentRequired = { [names[0]]: [pick(NAMES)] };
  return s;
}

function arraySchema(depth, defs) {
  const s = { type: "array" };
  if (chance(0.3)) s.prefixItems = Array.from({ length: int(1, 2) }, () => schema(depth + 1, defs));
  if (chance(0.8)) s.items = chance(0.1) ? false : schema(depth + 1, defs);
  if (chance(0.3)) s.minItems = int(0, 2);
  if (chance(0.3)) s.maxItems = int(1, 4);
  if (chance(0.2)) s.uniqueItems = true;
  // Not with prefixItems: ajv 8.17 accepts [] there whatever contains says (docs/jsonschema.md).
  if (!s.prefixItems && chance(0.1)) {
    s.contains = { type: "integer" };
    if (chance(0.5)) s.minContains = int(0, 2);
    if (chance(0.5)) s.maxContains = int(1, 2);
  }
  return s;
}

function schema(depth, defs) {
  const leaf = depth >= 3;
  const kinds = leaf
    ? ["string", "number", "integer", "boolean", "null", "enum", "const", "nullable", "typearray"]
    : ["string", "number", "integer", "boolean", "object", "object", "array", "array", "enum",
       "const", "anyOf", "oneOf", "allOf", "nullable", "typearray", "ref", "not", "if", "bool", "bare"];
  switch (pick(kinds)) {
    case "string": return stringSchema();
    case "number": return numberSchema(false);
    case "integer": return numberSchema(true);
    case "boolean": return { type: "boolean" };
    case "null": return { type: "null" };
    case "enum": return { enum: Array.from({ length: int(1, 4) }, () => randomValue(2)) };
    case "const": return { const: randomValue(1) };
    case "object": return objectSchema(depth, defs);
    case "array": return arraySchema(depth, defs);
    case "anyOf": return { anyOf: [schema(depth + 1, defs), chance(0.5) ? { type: "null" } : schema(depth + 1, defs)] };
    case "oneOf": return { oneOf: [schema(depth + 1, defs), schema(depth + 1, defs)] };
    case "allOf": return { allOf: [schema(depth + 1, defs), schema(depth + 1, defs)] };
    case "nullable": { const s = leaf ? stringSchema() : schema(depth + 1, defs); return { anyOf: [s, { type: "null" }] }; }
    case "typearray": return { type: pick([["string", "null"], ["integer", "null"], ["number", "string"], ["object", "array"], ["boolean", "integer"]]) };
    case "ref": {
      const name = "d" + Object.keys(defs).length;
      defs[name] = null; // reserve the name before recursing
      defs[name] = schema(depth + 1, defs);
      return { $ref: "#/$defs/" + name };
    }
    case "not": return { not: schema(depth + 1, defs) };
    case "if": return { if: { type: "integer" }, then: { minimum: 2 }, else: stringSchema() };
    case "bool": return chance(0.7);
    default: { const s = numberSchema(false); delete s.type; return s; }
  }
}

// The recursive schemas structured output uses: a tree of nodes, a linked list.
function recursiveSchema() {
  return pick([
    { $defs: { node: { type: "object", properties: { value: { type: "integer" },
        children: { type: "array", items: { $ref: "#/$defs/node" } } },
        required: ["value"], additionalProperties: false } }, $ref: "#/$defs/node" },
    { type: "object", properties: { head: { type: "string" }, tail: { anyOf: [{ $ref: "#" }, { type: "null" }] } },
      required: ["head", "tail"], additionalProperties: false },
  ]);
}

// A value meant to match `s` (it may not, for conflicting keywords; the verdict decides).
function build(s, root, depth) {
  if (s === true || s === false || depth > 6) return randomValue(3);
  if (s.$ref) return build(resolve(root, s.$ref), root, depth + 1);
  if ("const" in s) return s.const;
  if (s.enum) return pick(s.enum);
  if (s.anyOf || s.oneOf) return build(pick(s.anyOf || s.oneOf), root, depth + 1);
  if (s.allOf) return build(s.allOf[0], root, depth + 1);
  const type = Array.isArray(s.type) ? pick(s.type) : s.type;
  switch (type) {
    case "null": return null;
    case "boolean": return chance(0.5);
    case "integer": case "number": {
      let v = type === "integer" ? int(-2, 12) : pick(NUMBERS);
      if (s.multipleOf && chance(0.7)) v = s.multipleOf * int(0, 6);
      if (s.minimum !== undefined && v < s.minimum && chance(0.8)) v = s.minimum;
      return v;
    }
    case "string":
      if (s.format) return pick(FORMATS[s.format]);
      return pick(STRINGS);
    case "array": {
      const n = int(s.minItems || 0, Math.min(s.maxItems ?? 3, 4));
      return Array.from({ length: n }, (_, i) =>
        build(s.prefixItems && i < s.prefixItems.length ? s.prefixItems[i] : s.items ?? true, root, depth + 1));
    }
    case "object": {
      const o = {};
      for (const [k, sub] of Object.entries(s.properties || {}))
        if ((s.required || []).includes(k) || chance(0.6)) o[k] = build(sub, root, depth + 1);
      return o;
    }
    default: return randomValue(2);
  }
}

function resolve(root, ref) {
  let at = root;
  for (const t of ref.slice(2).split("/").filter((x) => x !== ""))
    at = at[t.replace(/~1/g, "/").replace(/~0/g, "~")];
  return at;
}

// One random change somewhere in the value.
function mutate(v, depth) {
  if (v !== null && typeof v === "object" && depth < 5 && chance(0.7)) {
    const keys = Object.keys(v);
    if (keys.length && chance(0.75)) {
      const k = pick(keys);
      if (!Array.isArray(v) && chance(0.25)) { delete v[k]; return v; }
      v[k] = mutate(v[k], depth + 1);
      return v;
    }
    if (Array.isArray(v)) v.push(randomValue(2));
    else v[pick(NAMES)] = randomValue(2);
    return v;
  }
  if (typeof v === "number" && chance(0.6)) return pick([v + 1, v - 0.5, -v, v * 10, String(v)]);
  if (typeof v === "string" && chance(0.6)) return pick([v + "x", v.slice(1), v.toUpperCase(), v.length]);
  return randomValue(2);
}

const lines = [];
while (lines.length < count) {
  let s;
  if (lines.length % 10 === 9) s = recursiveSchema();
  else {
    const defs = {};
    s = schema(0, defs);
    if (Object.keys(defs).length) {
      if (s === true || s === false) s = { allOf: [s] };
      s.$defs = defs;
    }
  }
  // A few instances per schema: built, built then mutated, or random.
  for (let i = int(1, 3); i > 0 && lines.length < count; i--) {
    let inst = build(s, s, 0);
    if (chance(0.45)) inst = mutate(JSON.parse(JSON.stringify(inst ?? null)), 0);
    else if (chance(0.1)) inst = randomValue(0);
    lines.push(JSON.stringify({ schema: s, instance: inst === undefined ? null : inst }));
  }
}
process.stdout.write(lines.join("\n") + "\n");
