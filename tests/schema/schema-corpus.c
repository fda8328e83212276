/* tests/schema/schema-corpus.c: our verdicts on the differential corpus (tests/schema/
 * corpus.jsonl), for test-schema-ajv.sh: schema-corpus CORPUS prints one line per pair, 1
 * (valid), 0 (invalid) or E (the schema was refused), then a tab and our message for 0 and E,
 * in the order of the corpus. Exits non-zero when the corpus cannot be read. */
#include <stdio.h>
#include <string.h>
#include <glib.h>
#include "text/json.h"
#include "text/jsonschema.h"

static void judge(json_object *pair, GHashTable *compiled) {
  json_object *schema = NULL, *instance = NULL;
  json_object_object_get_ex(pair, "schema", &schema);
  json_object_object_get_ex(pair, "instance", &instance);
  /* Pairs share schemas: compile each distinct one once, as ajv-validate.cjs does. */
  char *key = hvb__json_canonical(schema);
  hvb_error err = HVB_ERROR_INIT;
  hvb_schema *s = g_hash_table_lookup(compiled, key);
  if (!s && !g_hash_table_contains(compiled, key)) {
    s = hvb__schema_compile(schema, &err);
    g_hash_table_insert(compiled, g_strdup(key), s);
    if (!s) {
      printf("E\t%s\n", err.message);
      g_free(key);
      return;
    }
  }
  g_free(key);
  if (!s) printf("E\trefused before\n");
  else if (hvb__schema_validate(s, instance, &err)) printf("1\n");
  else printf("0\t%s\n", err.message);
}

static void free_schema(gpointer p) { hvb__schema_free(p); }

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: schema-corpus CORPUS\n");
    return 2;
  }
  gchar *text = NULL;
  GError *gerr = NULL;
  if (!g_file_get_contents(argv[1], &text, NULL, &gerr)) {
    fprintf(stderr, "schema-corpus: %s\n", gerr->message);
    g_error_free(gerr);
    return 1;
  }
  GHashTable *compiled = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, free_schema);
  int status = 0;
  char **lines = g_strsplit(text, "\n", -1);
  for (size_t i = 0; lines[i] && status == 0; i++) {
    if (!*lines[i]) continue;
    hvb_error err = HVB_ERROR_INIT;
    json_object *pair = hvb__json_parse_ex(lines[i], -1, "corpus line", HVB_JSON_STRICT, &err);
    if (!pair) {
      fprintf(stderr, "schema-corpus: %s:%zu: %s\n", argv[1], i + 1, err.message);
      status = 1;
      break;
    }
    judge(pair, compiled);
    json_object_put(pair);
  }
  g_strfreev(lines);
  g_free(text);
  g_hash_table_destroy(compiled);
  return status;
}
