/* core/text/jsonschema.h: a JSON Schema (draft 2020-12) validator for the subset the providers'
 * strict structured-output modes define (core/text/jsonschema*.c; docs/jsonschema.md lists
 * the keywords, the formats and where we differ from ajv).
 *
 * Ownership: hvb__schema_compile borrows `schema` and keeps its own reference to it (the
 * compiled form points into it), so the caller may put its reference at once; the caller owns
 * the hvb_schema and frees it with hvb__schema_free. `instance` is borrowed and never changed.
 * Errors: the hvb_error convention (heavenbase/error.h); see each function.
 * Thread safety: compiling is reentrant; a compiled schema is immutable and may be used by any
 * number of threads at once (the JSON document it refers to must not be changed meanwhile). */
#ifndef HVB_TEXT_JSONSCHEMA_H
#define HVB_TEXT_JSONSCHEMA_H

#include <json-c/json.h>
#include "base/common.h"

typedef struct hvb_schema hvb_schema;
/* Compile `schema` (borrowed; the compiled form keeps its own reference). NULL with err
 * (HVB_EINVAL, naming the JSON pointer in the schema and the keyword) when the schema is
 * malformed or uses a keyword outside the subset where ignoring it would accept wrong values. */
hvb_schema *hvb__schema_compile(json_object *schema, hvb_error *err);
void hvb__schema_free(hvb_schema *s);
/* true when `instance` is valid. Otherwise false and err: HVB_SCHEMA with the message
 * "<instance JSON pointer>: <rule>", e.g. "/items/2/price: expected number, got string"
 * (the first failure in document order; "" pointer for the root is written as "/"). A compiled
 * schema is immutable: any number of threads may validate with it at once. */
bool hvb__schema_validate(const hvb_schema *s, json_object *instance, hvb_error *err);

#endif
