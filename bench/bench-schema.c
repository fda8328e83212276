/* bench/bench-schema.c: throughput of the JSON Schema validator (core/text/jsonschema.h) on
 * structured-output replies.
 *
 *   bench-schema [SECONDS]
 *
 * Five schemas of the kind structured output uses (an extraction with formats and a nullable
 * field, a classification with an enum, an invoice of line items with patterns and bounds, a
 * calendar of events with date-times and emails, a recursive outline through $ref), each with
 * replies generated from a fixed seed at a few sizes, all valid (validation then walks the
 * whole value). Each row runs for about SECONDS (default 1) and prints validations/s and MB/s
 * of reply text for validation alone (the value already parsed) and for parse + validation,
 * the work of a structured call's final check. Internal API: linked with the core's objects.
 */
#include "text/json.h"
#include "text/jsonschema.h"

#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *person_schema =
  "{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\",\"minLength\":1},"
  "\"age\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":150},"
  "\"email\":{\"type\":\"string\",\"format\":\"email\"},"
  "\"phone\":{\"type\":[\"string\",\"null\"],\"pattern\":\"^\\\\+[0-9 ]{7,15}$\"},"
  "\"addresses\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":{"
  "\"street\":{\"type\":\"string\"},\"city\":{\"type\":\"string\"},"
  "\"country\":{\"enum\":[\"DE\",\"FR\",\"GB\",\"US\",\"JP\",\"IN\",\"BR\",\"NL\"]},"
  "\"postal_code\":{\"type\":\"string\",\"pattern\":\"^[0-9A-Z -]{3,10}$\"}},"
  "\"required\":[\"street\",\"city\",\"country\",\"postal_code\"],\"additionalProperties\":false}}},"
  "\"required\":[\"name\",\"age\",\"email\",\"phone\",\"addresses\"],\"additionalProperties\":false}";

static const char *label_schema =
  "{\"type\":\"object\",\"properties\":{\"label\":{\"enum\":[\"billing\",\"bug\",\"feature\","
  "\"account\",\"other\"]},\"confidence\":{\"type\":\"number\",\"minimum\":0,\"maximum\":1},"
  "\"reasons\":{\"type\":\"array\",\"items\":{\"type\":\"string\",\"maxLength\":200},\"maxItems\":5}},"
  "\"required\":[\"label\",\"confidence\",\"reasons\"],\"additionalProperties\":false}";

static const char *invoice_schema =
  "{\"type\":\"object\",\"$defs\":{\"line\":{\"type\":\"object\",\"properties\":{"
  "\"sku\":{\"type\":\"string\",\"pattern\":\"^[A-Z]{3}-[0-9]{4}$\"},"
  "\"description\":{\"type\":\"string\",\"maxLength\":120},"
  "\"quantity\":{\"type\":\"integer\",\"minimum\":1},"
  "\"unit_price\":{\"type\":\"number\",\"exclusiveMinimum\":0},"
  "\"discount\":{\"anyOf\":[{\"type\":\"number\",\"minimum\":0,\"maximum\":1},{\"type\":\"null\"}]}},"
  "\"required\":[\"sku\",\"description\",\"quantity\",\"unit_price\",\"discount\"],"
  "\"additionalProperties\":false}},\"properties\":{"
  "\"invoice_id\":{\"type\":\"string\",\"format\":\"uuid\"},\"date\":{\"type\":\"string\",\"format\":\"date\"},"
  "\"currency\":{\"enum\":[\"EUR\",\"USD\",\"GBP\",\"JPY\"]},"
  "\"lines\":{\"type\":\"array\",\"minItems\":1,\"items\":{\"$ref\":\"#/$defs/line\"}},"
  "\"total\":{\"type\":\"number\",\"minimum\":0}},"
  "\"required\":[\"invoice_id\",\"date\",\"currency\",\"lines\",\"total\"],\"additionalProperties\":false}";

static const char *calendar_schema =
  "{\"type\":\"object\",\"properties\":{\"events\":{\"type\":\"array\",\"items\":{\"type\":\"object\","
  "\"properties\":{\"title\":{\"type\":\"string\"},\"start\":{\"type\":\"string\",\"format\":\"date-time\"},"
  "\"end\":{\"type\":\"string\",\"format\":\"date-time\"},\"location\":{\"type\":[\"string\",\"null\"]},"
  "\"attendees\":{\"type\":\"array\",\"items\":{\"type\":\"string\",\"format\":\"email\"},\"uniqueItems\":true}},"
  "\"required\":[\"title\",\"start\",\"end\",\"location\",\"attendees\"],\"additionalProperties\":false}}},"
  "\"required\":[\"events\"],\"additionalProperties\":false}";

static const char *outline_schema =
  "{\"$defs\":{\"section\":{\"type\":\"object\",\"properties\":{\"heading\":{\"type\":\"string\"},"
  "\"level\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":6},"
  "\"children\":{\"type\":\"array\",\"items\":{\"$ref\":\"#/$defs/section\"}}},"
  "\"required\":[\"heading\",\"level\",\"children\"],\"additionalProperties\":false}},"
  "\"type\":\"object\",\"properties\":{\"title\":{\"type\":\"string\"},"
  "\"sections\":{\"type\":\"array\",\"items\":{\"$ref\":\"#/$defs/section\"}}},"
  "\"required\":[\"title\",\"sections\"],\"additionalProperties\":false}";

static const char *words[] = {"alpha", "solid", "quarterly", "report", "widget", "Berlin",
                              "coffee", "review", "deadline", "network", "green", "Ünïcode"};

static void word_run(GString *s, GRand *r, int n) {
  for (int i = 0; i < n; i++)
    g_string_append_printf(s, "%s%s", i ? " " : "", words[g_rand_int_range(r, 0, G_N_ELEMENTS(words))]);
}

static char *person(GRand *r, int size) {
  static const char *countries[] = {"DE", "FR", "GB", "US", "JP"};
  GString *s = g_string_new("{\"name\":\"");
  word_run(s, r, 2);
  g_string_append_printf(s, "\",\"age\":%d,\"email\":\"someone.%d@example.org\",\"phone\":%s,\"addresses\":[",
                         g_rand_int_range(r, 18, 90), g_rand_int_range(r, 1, 999),
                         g_rand_boolean(r) ? "null" : "\"+49 30 1234567\"");
  for (int i = 0; i < size; i++) {
    g_string_append_printf(s, "%s{\"street\":\"%d ", i ? "," : "", g_rand_int_range(r, 1, 300));
    word_run(s, r, 2);
    g_string_append_printf(s, "\",\"city\":\"Berlin\",\"country\":\"%s\",\"postal_code\":\"%05d\"}",
                           countries[g_rand_int_range(r, 0, 5)], g_rand_int_range(r, 10000, 99999));
  }
  g_string_append(s, "]}");
  return g_string_free(s, FALSE);
}

static char *label(GRand *r, int size) {
  GString *s = g_string_new("{\"label\":\"bug\",");
  g_string_append_printf(s, "\"confidence\":%.3f,\"reasons\":[", g_rand_double(r));
  for (int i = 0; i < size && i < 5; i++) {
    g_string_append(s, i ? ",\"" : "\"");
    word_run(s, r, 8);
    g_string_append_c(s, '"');
  }
  g_string_append(s, "]}");
  return g_string_free(s, FALSE);
}

static char *invoice(GRand *r, int size) {
  GString *s = g_string_new("{\"invoice_id\":\"123e4567-e89b-12d3-a456-426614174000\","
                            "\"date\":\"2026-02-28\",\"currency\":\"EUR\",\"lines\":[");
  for (int i = 0; i < size; i++) {
    g_string_append_printf(s, "%s{\"sku\":\"ABC-%04d\",\"description\":\"", i ? "," : "",
                           g_rand_int_range(r, 0, 9999));
    word_run(s, r, 4);
    g_string_append_printf(s, "\",\"quantity\":%d,\"unit_price\":%.2f,\"discount\":%s}",
                           g_rand_int_range(r, 1, 20), g_rand_double_range(r, 0.5, 500),
                           g_rand_boolean(r) ? "null" : "0.1");
  }
  g_string_append(s, "],\"total\":1234.5}");
  return g_string_free(s, FALSE);
}

static char *calendar(GRand *r, int size) {
  GString *s = g_string_new("{\"events\":[");
  for (int i = 0; i < size; i++) {
    int day = g_rand_int_range(r, 1, 28), hour = g_rand_int_range(r, 8, 18);
    g_string_append(s, i ? ",{\"title\":\"" : "{\"title\":\"");
    word_run(s, r, 3);
    g_string_append_printf(s, "\",\"start\":\"2026-03-%02dT%02d:00:00Z\",\"end\":\"2026-03-%02dT%02d:30:00+01:00\","
                           "\"location\":%s,\"attendees\":[\"a%d@example.com\",\"b%d@example.com\"]}",
                           day, hour, day, hour, g_rand_boolean(r) ? "null" : "\"Room 4\"", i, i);
  }
  g_string_append(s, "]}");
  return g_string_free(s, FALSE);
}

static void section(GString *s, GRand *r, int level, int *budget) {
  g_string_append(s, "{\"heading\":\"");
  word_run(s, r, 3);
  g_string_append_printf(s, "\",\"level\":%d,\"children\":[", level);
  int kids = level < 6 ? g_rand_int_range(r, 0, 4) : 0;
  for (int i = 0; i < kids && *budget > 0; i++) {
    (*budget)--;
    if (i) g_string_append_c(s, ',');
    section(s, r, level + 1, budget);
  }
  g_string_append(s, "]}");
}

static char *outline(GRand *r, int size) {
  GString *s = g_string_new("{\"title\":\"Plan\",\"sections\":[");
  int budget = size * 4;
  for (int i = 0; i < size; i++) {
    if (i) g_string_append_c(s, ',');
    section(s, r, 1, &budget);
  }
  g_string_append(s, "]}");
  return g_string_free(s, FALSE);
}

typedef struct kind {
  const char *name, *schema;
  char *(*reply)(GRand *r, int size);
  int sizes[3];
} kind;

static const kind kinds[] = {
  {"extraction (person)", NULL, person, {1, 3, 20}},
  {"classification (enum)", NULL, label, {1, 3, 5}},
  {"invoice (line items)", NULL, invoice, {3, 30, 300}},
  {"calendar (date-time, email)", NULL, calendar, {2, 20, 200}},
  {"outline (recursive $ref)", NULL, outline, {2, 10, 60}},
};

#define REPLIES 16

/* One row: REPLIES replies of this kind and size, validated round-robin for `seconds`. */
static int run_row(const kind *k, const char *schema_text, int size, double seconds) {
  hvb_error err = HVB_ERROR_INIT;
  json_object *doc = hvb__json_parse(schema_text, -1, "schema", &err);
  hvb_schema *s = doc ? hvb__schema_compile(doc, &err) : NULL;
  json_object_put(doc);
  if (!s) {
    fprintf(stderr, "bench-schema: %s: %s\n", k->name, err.message);
    return 1;
  }
  GRand *r = g_rand_new_with_seed(14);
  char *texts[REPLIES];
  json_object *values[REPLIES];
  size_t bytes = 0;
  for (int i = 0; i < REPLIES; i++) {
    texts[i] = k->reply(r, size);
    bytes += strlen(texts[i]);
    values[i] = hvb__json_parse(texts[i], -1, "reply", &err);
    if (!values[i] || !hvb__schema_validate(s, values[i], &err)) {
      fprintf(stderr, "bench-schema: %s: a generated reply is not valid: %s\n", k->name, err.message);
      return 1;
    }
  }
  double rates[2];
  for (int mode = 0; mode < 2; mode++) {
    long n = 0;
    size_t done = 0;
    double t0 = now(), t;
    do {
      for (int i = 0; i < REPLIES; i++) {
        json_object *v = values[i];
        if (mode == 1) v = hvb__json_parse(texts[i], -1, "reply", NULL);
        if (!hvb__schema_validate(s, v, NULL)) abort();
        if (mode == 1) json_object_put(v);
        done += strlen(texts[i]);
      }
      n += REPLIES;
    } while ((t = now() - t0) < seconds);
    rates[mode] = (double)done / t / 1e6;
    if (mode == 0) printf("%-30s %8zu %12.0f %10.1f", k->name, bytes / REPLIES, (double)n / t, rates[0]);
  }
  printf(" %14.1f\n", rates[1]);
  for (int i = 0; i < REPLIES; i++) {
    g_free(texts[i]);
    json_object_put(values[i]);
  }
  g_rand_free(r);
  hvb__schema_free(s);
  return 0;
}

int main(int argc, char **argv) {
  double seconds = argc > 1 ? atof(argv[1]) : 1.0;
  if (seconds <= 0) {
    fprintf(stderr, "usage: bench-schema [SECONDS]\n");
    return 2;
  }
  const char *schemas[] = {person_schema, label_schema, invoice_schema, calendar_schema, outline_schema};
  printf("%-30s %8s %12s %10s %14s\n", "replies", "bytes", "validations/s", "MB/s", "MB/s +parse");
  for (size_t k = 0; k < G_N_ELEMENTS(kinds); k++)
    for (int i = 0; i < 3; i++)
      if (run_row(&kinds[k], schemas[k], kinds[k].sizes[i], seconds)) return 1;
  return 0;
}
