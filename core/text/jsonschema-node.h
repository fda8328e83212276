/* core/text/jsonschema-node.h: the compiled form of a JSON Schema, shared by the compiler
 * (jsonschema.c), the validator (jsonschema-validate.c) and the formats
 * (jsonschema-format.c). Private to these files. */
#ifndef HVB_TEXT_JSONSCHEMA_NODE_H
#define HVB_TEXT_JSONSCHEMA_NODE_H

#include <glib.h>
#include "text/jsonschema.h"

/* Instance types as bits of hvb_schema_node.types. INTEGER is a subset of NUMBER's values:
 * a number with no fractional part, whatever its JSON spelling (1.0 is an integer, as in
 * JavaScript and so in ajv). */
enum {
  HVB_ST_NULL = 1u << 0,
  HVB_ST_BOOLEAN = 1u << 1,
  HVB_ST_OBJECT = 1u << 2,
  HVB_ST_ARRAY = 1u << 3,
  HVB_ST_NUMBER = 1u << 4,
  HVB_ST_STRING = 1u << 5,
  HVB_ST_INTEGER = 1u << 6
};

typedef enum hvb_schema_format {
  HVB_FMT_NONE = 0,
  HVB_FMT_DATE_TIME,
  HVB_FMT_DATE,
  HVB_FMT_TIME,
  HVB_FMT_DURATION,
  HVB_FMT_EMAIL,
  HVB_FMT_HOSTNAME,
  HVB_FMT_IPV4,
  HVB_FMT_IPV6,
  HVB_FMT_UUID,
  HVB_FMT_URI,
  HVB_FMT_URI_REFERENCE
} hvb_schema_format;

typedef struct hvb_schema_node hvb_schema_node;

/* A list of subschemas (allOf, anyOf, oneOf, prefixItems). */
typedef struct hvb_schema_list {
  hvb_schema_node **v;
  size_t n;
} hvb_schema_list;

/* One named property, or one patternProperties entry (pattern set, name the source). */
typedef struct hvb_schema_prop {
  const char *name; /* borrowed from the document */
  GRegex *pattern;
  hvb_schema_node *node;
} hvb_schema_prop;

/* A bound that is absent, or a number kept both as int64 (when the keyword's value is an
 * integer) and as double, so that integers compare exactly beyond 2^53. */
typedef struct hvb_schema_num {
  bool set, is_int;
  int64_t i;
  double d;
} hvb_schema_num;

struct hvb_schema_node {
  char *ptr;             /* where in the schema, as a JSON pointer ("" for the root) */
  bool is_bool;          /* a boolean schema: true accepts anything, false nothing */
  bool bool_value;
  unsigned types;        /* HVB_ST_* bits; 0: no type keyword */
  hvb_schema_node *ref;  /* $ref's target */
  hvb_schema_list all_of, any_of, one_of;
  hvb_schema_node *not_, *if_, *then_, *else_;
  json_object *enum_values; /* borrowed array; NULL: no enum */
  json_object *const_value; /* borrowed; meaningful when has_const */
  bool has_const;
  /* numbers */
  hvb_schema_num minimum, maximum, exclusive_minimum, exclusive_maximum, multiple_of;
  /* strings: -1 when absent */
  int64_t min_length, max_length;
  GRegex *pattern;
  const char *pattern_source;
  hvb_schema_format format;
  GRegex *format_re;     /* for the formats ajv-formats checks with a regular expression */
  const char *format_name;
  /* arrays */
  hvb_schema_list prefix_items;
  hvb_schema_node *items, *contains;
  int64_t min_items, max_items, min_contains, max_contains;
  bool unique_items;
  /* objects */
  hvb_schema_prop *props;
  size_t n_props;
  hvb_schema_prop *pattern_props;
  size_t n_pattern_props;
  hvb_schema_node *additional; /* NULL: any additional property is allowed */
  hvb_schema_node *property_names;
  const char **required;
  size_t n_required;
  int64_t min_props, max_props;
  GHashTable *dependent_required; /* name -> json_object array (borrowed); NULL: none */
};

struct hvb_schema {
  json_object *doc;        /* our reference */
  hvb_schema_node *root;
  GPtrArray *nodes;        /* every node, for freeing */
};

/* The format checkers (jsonschema-format.c). hvb__schema_format_lookup gives HVB_FMT_NONE for
 * an unknown name; hvb__schema_format_regex a new GRegex for the formats that need one, else
 * NULL; hvb__schema_format_check takes that regex. */
hvb_schema_format hvb__schema_format_lookup(const char *name);
GRegex *hvb__schema_format_regex(hvb_schema_format f);
bool hvb__schema_format_check(hvb_schema_format f, const GRegex *re, const char *s, size_t len);

/* Deep equality as JSON values (numbers by value, 1 == 1.0; objects regardless of key order),
 * as ajv's enum, const and uniqueItems compare. */
bool hvb__schema_json_equal(json_object *a, json_object *b);

/* Code points in a UTF-8 string, as ajv counts string lengths. */
size_t hvb__schema_utf8_length(const char *s, size_t len);

#endif
