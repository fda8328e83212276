/* plugins/mock/mock-schema.h: a value made from a JSON Schema (plugins/mock/schema-value.c),
 * the mock's answer to a structured call.
 *
 * Rules (deterministic): const, else the first enum value; $ref (local "#/..." pointers)
 * followed; anyOf/oneOf/allOf: the first branch; a type list: its first type other than
 * "null". Objects: every property in schema order; arrays: prefixItems, then items up to
 * minItems (at least one); strings: a value matching a simple pattern (atoms and
 * quantifiers), else an example of the format (date-time, date, time, email, uri, uuid, ipv4,
 * ipv6, hostname, duration), else the property's name, padded to minLength and cut to
 * maxLength; numbers: 1 moved into the bounds and up to multipleOf; booleans: true. Past six
 * levels of nesting only required properties are made, a "null" type or a branch without
 * $ref is preferred, and arrays are empty unless minItems says otherwise, so recursive
 * schemas end. Pure: thread-safe. */
#ifndef HVB_MOCK_SCHEMA_H
#define HVB_MOCK_SCHEMA_H

#include <json-c/json.h>

/* New value for `schema` (borrowed; also the root for $ref); NULL means JSON null. */
json_object *mock_schema_value(json_object *schema);

#endif
