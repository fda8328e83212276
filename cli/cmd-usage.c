/* cli/cmd-usage.c: hb usage [--since D] [--until D] [--by KEY] [--json|--csv] and
 * hb usage prune --before D: the usage ledger (include/heavenbase/usage.h); and the one-line
 * summary hb chat -v prints. */
#include "cli.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

/* 1234567 -> "1,234,567" */
static const char *grouped(long long n, char *buf, size_t size) {
  char digits[32];
  int len = snprintf(digits, sizeof digits, "%lld", n < 0 ? -n : n);
  size_t o = 0;
  if (n < 0 && o + 1 < size) buf[o++] = '-';
  for (int i = 0; i < len && o + 2 < size; i++) {
    if (i && (len - i) % 3 == 0) buf[o++] = ',';
    buf[o++] = digits[i];
  }
  buf[o] = '\0';
  return buf;
}

static const char *usd(double v, char *buf, size_t size) {
  snprintf(buf, size, v > 0 && v < 0.01 ? "$%.4f" : "$%.2f", v);
  return buf;
}

void hb_print_usage_line(FILE *out, const hvb_result *r) {
  hvb_cost c;
  bool known = hvb_result_cost(r, &c);
  json_object *t = hvb_result_timing(r);
  char in[32], outs[32], cost[32], saved[32];
  double total = json_object_get_double(json_object_object_get(t, "total_ms"));
  double ttfb = json_object_get_double(json_object_object_get(t, "ttfb_ms"));
  fprintf(out, "%s in / %s out tokens \xc2\xb7 %s \xc2\xb7 %.0f ms", grouped(c.input_tokens, in, sizeof in),
          grouped(c.output_tokens, outs, sizeof outs),
          known ? usd(c.usd, cost, sizeof cost) : "$? (no price)", total);
  if (ttfb > 0) fprintf(out, " (ttfb %.0f ms)", ttfb);
  if (c.cached)
    fprintf(out, " \xc2\xb7 cached: yes (saved %s)\n",
            known ? usd(c.saved_usd, saved, sizeof saved) : "$?");
  else
    fprintf(out, " \xc2\xb7 cached: no\n");
}

static long long member_int(json_object *o, const char *k) {
  return json_object_get_int64(json_object_object_get(o, k));
}
static double member_double(json_object *o, const char *k) {
  return json_object_get_double(json_object_object_get(o, k));
}

/* A sum of USD as a cell of `width` columns: "unknown" when no call it covers had a price
 * (never $0.00), "\u2265 $X" when some had none (a lower bound). Returns whether it was one of
 * those, for the footnote. */
static int usd_cell(json_object *g, const char *name, int width) {
  char key[32], cell[48], buf[32];
  snprintf(key, sizeof key, "%s_usd", name);
  json_object *v = json_object_object_get(g, key);
  snprintf(key, sizeof key, "%s_partial", name);
  bool partial = json_object_get_boolean(json_object_object_get(g, key));
  int columns;
  if (!v)
    columns = snprintf(cell, sizeof cell, "unknown");
  else {
    columns = snprintf(cell, sizeof cell, "%s%s", partial ? "\xe2\x89\xa5 " : "",
                         usd(json_object_get_double(v), buf, sizeof buf));
    if (partial) columns -= 2; /* the sign is one column in three bytes */
  }
  printf(" %*s%s", columns < width ? width - columns : 0, "", cell);
  return !v ? 1 : partial ? 2 : 0;
}

static int print_row(const char *key, json_object *g) {
  char a[32], b[32], e[32];
  printf("%-24s %7lld %6lld %6lld %12s %12s %10s", key, member_int(g, "calls"),
         member_int(g, "failed"), member_int(g, "cached"), grouped(member_int(g, "tokens_in"), a, sizeof a),
         grouped(member_int(g, "tokens_out"), b, sizeof b),
         grouped(member_int(g, "tokens_cached"), e, sizeof e));
  int marks = usd_cell(g, "cost", 10) | usd_cell(g, "saved", 10);
  putchar('\n');
  return marks;
}

static void print_table(json_object *rep, const char *by) {
  json_object *groups = json_object_object_get(rep, "groups");
  printf("%-24s %7s %6s %6s %12s %12s %10s %10s %10s\n", by ? by : "", "calls", "failed",
         "cached", "tokens in", "tokens out", "cached in", "cost", "saved");
  int marks = 0;
  for (size_t i = 0; by && i < json_object_array_length(groups); i++) {
    json_object *g = json_object_array_get_idx(groups, i);
    const char *k = json_object_get_string(json_object_object_get(g, "key"));
    marks |= print_row(*k ? k : "(none)", g);
  }
  json_object *total = json_object_object_get(rep, "total");
  if (total) marks |= print_row("total", total);
  long long unpriced = total ? member_int(total, "unpriced") + member_int(total, "unpriced_cached")
                             : 0;
  if (unpriced)
    printf("%lld call%s without a price: not in the cost or the saving\n", unpriced,
           unpriced == 1 ? "" : "s");
  if (marks & 2) printf("\xe2\x89\xa5 a lower bound: the priced calls only\n");
  if (marks & 1) printf("unknown: none of its calls had a price\n");
}

/* Spend per day as bars of Unicode eighth blocks, scaled to the largest day. */
static void print_bars(json_object *rep) {
  static const char *const eighths[] = {"", "\xe2\x96\x8f", "\xe2\x96\x8e", "\xe2\x96\x8d",
                                        "\xe2\x96\x8c", "\xe2\x96\x8b", "\xe2\x96\x8a",
                                        "\xe2\x96\x89"};
  json_object *groups = json_object_object_get(rep, "groups");
  double max = 0;
  for (size_t i = 0; i < json_object_array_length(groups); i++)
    max = fmax(max, member_double(json_object_array_get_idx(groups, i), "cost_usd"));
  if (max <= 0) return;
  printf("\nspend per day\n");
  for (size_t i = 0; i < json_object_array_length(groups); i++) {
    json_object *g = json_object_array_get_idx(groups, i);
    double v = member_double(g, "cost_usd");
    int units = (int)lround(v / max * 40 * 8);
    printf("%s ", json_object_get_string(json_object_object_get(g, "key")));
    for (int k = 0; k < units / 8; k++) fputs("\xe2\x96\x88", stdout);
    fputs(eighths[units % 8], stdout);
    usd_cell(g, "cost", 0);
    putchar('\n');
  }
}

static void csv_field(const char *s) {
  if (!strpbrk(s, ",\"\n\r")) {
    fputs(s, stdout);
    return;
  }
  putchar('"');
  for (; *s; s++) {
    if (*s == '"') putchar('"');
    putchar(*s);
  }
  putchar('"');
}

/* A sum of USD in CSV: empty when unknown (no call it covers had a price). */
static void csv_usd(json_object *g, const char *key) {
  json_object *v = json_object_object_get(g, key);
  if (v) printf(",%.6f", json_object_get_double(v));
  else putchar(',');
}

static void print_csv(json_object *rep, const char *by) {
  printf("%s,calls,failed,cached,tokens_in,tokens_out,tokens_cached,cost_usd,unpriced,saved_usd\n",
         by ? by : "key");
  json_object *groups = json_object_object_get(rep, "groups");
  json_object *total = json_object_object_get(rep, "total");
  size_t n = by ? json_object_array_length(groups) : 0;
  for (size_t i = 0; i <= n; i++) {
    json_object *g = i < n ? json_object_array_get_idx(groups, i) : total;
    if (!g) break;
    csv_field(i < n ? json_object_get_string(json_object_object_get(g, "key")) : "total");
    printf(",%lld,%lld,%lld,%lld,%lld,%lld", member_int(g, "calls"), member_int(g, "failed"),
           member_int(g, "cached"), member_int(g, "tokens_in"), member_int(g, "tokens_out"),
           member_int(g, "tokens_cached"));
    csv_usd(g, "cost_usd");
    printf(",%lld", member_int(g, "unpriced"));
    csv_usd(g, "saved_usd");
    putchar('\n');
  }
}

typedef struct usage_args {
  const char *action, *since, *until, *by, *before;
  bool json, csv;
} usage_args;

static int usage_parse(usage_args *u, int argc, char **argv) {
  hb_args a;
  hb_arg arg;
  hb_args_init(&a, "usage", hb_command_options_find("usage", NULL), argc, argv, 1);
  for (hb_args_kind k; (k = hb_args_next(&a, &arg)) != HB_ARGS_END;) {
    if (k == HB_ARGS_ERROR) return HB_EXIT_USAGE;
    if (k == HB_ARGS_POSITIONAL) {
      if (u->action) return hb_usage("usage", "unexpected argument '%s'", arg.value);
      u->action = arg.value;
      continue;
    }
    switch (arg.opt->id) {
    case HB_OPT_SINCE: u->since = arg.value; break;
    case HB_OPT_UNTIL: u->until = arg.value; break;
    case HB_OPT_BY: u->by = arg.value; break;
    case HB_OPT_BEFORE: u->before = arg.value; break;
    case HB_OPT_CSV: u->csv = true; break;
    default: u->json = true; break;
    }
  }
  if (u->action && strcmp(u->action, "prune") != 0)
    return hb_usage("usage", "unknown action '%s' (prune, or none for the report)", u->action);
  if (u->action && !u->before) return hb_usage("usage", "prune needs --before DATE");
  if (!u->action && u->before) return hb_usage("usage", "--before goes with 'prune' only");
  if (u->action && (u->since || u->until || u->by || u->json || u->csv))
    return hb_usage("usage", "prune takes --before DATE only");
  if (u->json && u->csv) return hb_usage("usage", "give --json or --csv, not both");
  static const char *const groupings[] = {"day", "model", "preset", "provider", "tag", NULL};
  bool known = !u->by;
  for (int i = 0; !known && groupings[i]; i++) known = !strcmp(u->by, groupings[i]);
  if (!known)
    return hb_usage("usage", "--by %s: one of day, model, preset, provider, tag", u->by);
  return HB_EXIT_OK;
}

int hb_cmd_usage(int argc, char **argv) {
  usage_args u = {0};
  int rc = usage_parse(&u, argc, argv);
  if (rc != HB_EXIT_OK) return rc;
  hvb_error err = HVB_ERROR_INIT;
  if (u.action) {
    long long n = hvb_usage_prune(u.before, &err);
    if (n < 0) return hb_fail("usage prune", &err);
    printf("removed %lld row%s\n", n, n == 1 ? "" : "s");
    return HB_EXIT_OK;
  }
  json_object *q = json_object_new_object();
  if (u.since) json_object_object_add(q, "since", json_object_new_string(u.since));
  if (u.until) json_object_object_add(q, "until", json_object_new_string(u.until));
  if (u.by) json_object_object_add(q, "by", json_object_new_string(u.by));
  json_object *rep = hvb_usage_report(q, &err);
  json_object_put(q);
  if (!rep) return hb_fail("usage", &err);
  if (u.json)
    hb_print_json(stdout, rep, false);
  else if (u.csv)
    print_csv(rep, u.by);
  else {
    print_table(rep, u.by);
    if (u.by && !strcmp(u.by, "day") && isatty(STDOUT_FILENO)) print_bars(rep);
  }
  json_object_put(rep);
  return HB_EXIT_OK;
}
