/* core/text/jsonschema-format.c: the string formats of the schema subset, as ajv-formats 3.0
 * checks them in its "full" mode (the regular expressions below are its own, with \d spelled
 * [0-9] because GLib's PCRE matches any Unicode digit with \d), and the value helpers the
 * validator shares: JSON equality and string length in code points. */
#include <string.h>
#include "text/jsonschema-node.h"

static const struct format_re {
  hvb_schema_format format;
  bool caseless;
  const char *source;
} format_res[] = {
    {HVB_FMT_DURATION, false,
     "^P(?!$)(([0-9]+Y)?([0-9]+M)?([0-9]+D)?(T(?=[0-9])([0-9]+H)?([0-9]+M)?([0-9]+S)?)?|([0-"
     "9]+W)?)$"},
    {HVB_FMT_URI_REFERENCE, true,
     "^(?:[a-z][a-z0-9+\\-.]*:)?(?:/?/(?:(?:[a-z0-9\\-._~!$&'()*+,;=:]|%[0-9a-f]{2})*@)?(?:\\"
     "[(?:(?:(?:(?:[0-9a-f]{1,4}:){6}|::(?:[0-9a-f]{1,4}:){5}|(?:[0-9a-f]{1,4})?::(?:[0-9a-f"
     "]{1,4}:){4}|(?:(?:[0-9a-f]{1,4}:){0,1}[0-9a-f]{1,4})?::(?:[0-9a-f]{1,4}:){3}|(?:(?:[0-"
     "9a-f]{1,4}:){0,2}[0-9a-f]{1,4})?::(?:[0-9a-f]{1,4}:){2}|(?:(?:[0-9a-f]{1,4}:){0,3}[0-9"
     "a-f]{1,4})?::[0-9a-f]{1,4}:|(?:(?:[0-9a-f]{1,4}:){0,4}[0-9a-f]{1,4})?::)(?:[0-9a-f]{1,"
     "4}:[0-9a-f]{1,4}|(?:(?:25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)\\.){3}(?:25[0-5]|2[0-4][0"
     "-9]|[01]?[0-9][0-9]?))|(?:(?:[0-9a-f]{1,4}:){0,5}[0-9a-f]{1,4})?::[0-9a-f]{1,4}|(?:(?:"
     "[0-9a-f]{1,4}:){0,6}[0-9a-f]{1,4})?::)|[Vv][0-9a-f]+\\.[a-z0-9\\-._~!$&'()*+,;=:]+)\\]"
     "|(?:(?:25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)\\.){3}(?:25[0-5]|2[0-4][0-9]|[01]?[0-9][0"
     "-9]?)|(?:[a-z0-9\\-._~!$&'\"()*+,;=]|%[0-9a-f]{2})*)(?::[0-9]*)?(?:/(?:[a-z0-9\\-._~!$"
     "&'\"()*+,;=:@]|%[0-9a-f]{2})*)*|/(?:(?:[a-z0-9\\-._~!$&'\"()*+,;=:@]|%[0-9a-f]{2})+(?:"
     "/(?:[a-z0-9\\-._~!$&'\"()*+,;=:@]|%[0-9a-f]{2})*)*)?|(?:[a-z0-9\\-._~!$&'\"()*+,;=:@]|"
     "%[0-9a-f]{2})+(?:/(?:[a-z0-9\\-._~!$&'\"()*+,;=:@]|%[0-9a-f]{2})*)*)?(?:\\?(?:[a-z0-9\\"
     "-._~!$&'\"()*+,;=:@/?]|%[0-9a-f]{2})*)?(?:#(?:[a-z0-9\\-._~!$&'\"()*+,;=:@/?]|%[0-9a-f"
     "]{2})*)?$"},
    {HVB_FMT_HOSTNAME, true,
     "^(?=.{1,253}\\.?$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\\.[a-z0-9](?:[-0-9a-z]{0,61}"
     "[0-9a-z])?)*\\.?$"},
    {HVB_FMT_IPV6, true,
     "^((([0-9a-f]{1,4}:){7}([0-9a-f]{1,4}|:))|(([0-9a-f]{1,4}:){6}(:[0-9a-f]{1,4}|((25[0-5]"
     "|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(\\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
     "){3})|:))|(([0-9a-f]{1,4}:){5}(((:[0-9a-f]{1,4}){1,2})|:((25[0-5]|2[0-4][0-9]|1[0-9][0"
     "-9]|[1-9]?[0-9])(\\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3})|:))|(([0-9a-f]{"
     "1,4}:){4}(((:[0-9a-f]{1,4}){1,3})|((:[0-9a-f]{1,4})?:((25[0-5]|2[0-4][0-9]|1[0-9][0-9]"
     "|[1-9]?[0-9])(\\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}))|:))|(([0-9a-f]{1,"
     "4}:){3}(((:[0-9a-f]{1,4}){1,4})|((:[0-9a-f]{1,4}){0,2}:((25[0-5]|2[0-4][0-9]|1[0-9][0-"
     "9]|[1-9]?[0-9])(\\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}))|:))|(([0-9a-f]{"
     "1,4}:){2}(((:[0-9a-f]{1,4}){1,5})|((:[0-9a-f]{1,4}){0,3}:((25[0-5]|2[0-4][0-9]|1[0-9]["
     "0-9]|[1-9]?[0-9])(\\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}))|:))|(([0-9a-f"
     "]{1,4}:){1}(((:[0-9a-f]{1,4}){1,6})|((:[0-9a-f]{1,4}){0,4}:((25[0-5]|2[0-4][0-9]|1[0-9"
     "][0-9]|[1-9]?[0-9])(\\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}))|:))|(:(((:["
     "0-9a-f]{1,4}){1,7})|((:[0-9a-f]{1,4}){0,5}:((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-"
     "9])(\\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}))|:)))$"},
    {HVB_FMT_URI, true,
     "^(?:[a-z][a-z0-9+\\-.]*:)(?:/?/(?:(?:[a-z0-9\\-._~!$&'()*+,;=:]|%[0-9a-f]{2})*@)?(?:\\"
     "[(?:(?:(?:(?:[0-9a-f]{1,4}:){6}|::(?:[0-9a-f]{1,4}:){5}|(?:[0-9a-f]{1,4})?::(?:[0-9a-f"
     "]{1,4}:){4}|(?:(?:[0-9a-f]{1,4}:){0,1}[0-9a-f]{1,4})?::(?:[0-9a-f]{1,4}:){3}|(?:(?:[0-"
     "9a-f]{1,4}:){0,2}[0-9a-f]{1,4})?::(?:[0-9a-f]{1,4}:){2}|(?:(?:[0-9a-f]{1,4}:){0,3}[0-9"
     "a-f]{1,4})?::[0-9a-f]{1,4}:|(?:(?:[0-9a-f]{1,4}:){0,4}[0-9a-f]{1,4})?::)(?:[0-9a-f]{1,"
     "4}:[0-9a-f]{1,4}|(?:(?:25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)\\.){3}(?:25[0-5]|2[0-4][0"
     "-9]|[01]?[0-9][0-9]?))|(?:(?:[0-9a-f]{1,4}:){0,5}[0-9a-f]{1,4})?::[0-9a-f]{1,4}|(?:(?:"
     "[0-9a-f]{1,4}:){0,6}[0-9a-f]{1,4})?::)|[Vv][0-9a-f]+\\.[a-z0-9\\-._~!$&'()*+,;=:]+)\\]"
     "|(?:(?:25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)\\.){3}(?:25[0-5]|2[0-4][0-9]|[01]?[0-9][0"
     "-9]?)|(?:[a-z0-9\\-._~!$&'()*+,;=]|%[0-9a-f]{2})*)(?::[0-9]*)?(?:/(?:[a-z0-9\\-._~!$&'"
     "()*+,;=:@]|%[0-9a-f]{2})*)*|/(?:(?:[a-z0-9\\-._~!$&'()*+,;=:@]|%[0-9a-f]{2})+(?:/(?:[a"
     "-z0-9\\-._~!$&'()*+,;=:@]|%[0-9a-f]{2})*)*)?|(?:[a-z0-9\\-._~!$&'()*+,;=:@]|%[0-9a-f]{"
     "2})+(?:/(?:[a-z0-9\\-._~!$&'()*+,;=:@]|%[0-9a-f]{2})*)*)(?:\\?(?:[a-z0-9\\-._~!$&'()*+"
     ",;=:@/?]|%[0-9a-f]{2})*)?(?:#(?:[a-z0-9\\-._~!$&'()*+,;=:@/?]|%[0-9a-f]{2})*)?$"},
};

static const struct {
  const char *name;
  hvb_schema_format format;
} format_names[] = {
  {"date-time", HVB_FMT_DATE_TIME}, {"date", HVB_FMT_DATE},         {"time", HVB_FMT_TIME},
  {"duration", HVB_FMT_DURATION},   {"email", HVB_FMT_EMAIL},       {"hostname", HVB_FMT_HOSTNAME},
  {"ipv4", HVB_FMT_IPV4},           {"ipv6", HVB_FMT_IPV6},         {"uuid", HVB_FMT_UUID},
  {"uri", HVB_FMT_URI},             {"uri-reference", HVB_FMT_URI_REFERENCE}};

hvb_schema_format hvb__schema_format_lookup(const char *name) {
  for (size_t i = 0; i < G_N_ELEMENTS(format_names); i++)
    if (strcmp(format_names[i].name, name) == 0) return format_names[i].format;
  return HVB_FMT_NONE;
}

GRegex *hvb__schema_format_regex(hvb_schema_format f) {
  for (size_t i = 0; i < G_N_ELEMENTS(format_res); i++) {
    if (format_res[i].format != f) continue;
    GRegexCompileFlags flags = G_REGEX_DOLLAR_ENDONLY | G_REGEX_NEWLINE_ANYCRLF;
    if (format_res[i].caseless) flags |= G_REGEX_CASELESS;
    /* Fixed expressions, tested: a failure here is a bug in this table. */
    GRegex *re = g_regex_new(format_res[i].source, flags, 0, NULL);
    g_assert(re);
    return re;
  }
  return NULL;
}

/* ---- date and time, as ajv-formats' date() and getTime(true) ---- */

static bool digits(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!g_ascii_isdigit(s[i])) return false;
  return true;
}

static int num2(const char *s) { return (s[0] - '0') * 10 + (s[1] - '0'); }

static bool check_date(const char *s, size_t len) {
  if (len != 10 || !digits(s, 4) || s[4] != '-' || !digits(s + 5, 2) || s[7] != '-' ||
      !digits(s + 8, 2))
    return false;
  static const int days[] = {0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  int year = num2(s) * 100 + num2(s + 2), month = num2(s + 5), day = num2(s + 8);
  bool leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
  return month >= 1 && month <= 12 && day >= 1 && day <= (month == 2 && leap ? 29 : days[month]);
}

/* ^(\d\d):(\d\d):(\d\d(?:\.\d+)?)(z|([+-])(\d\d)(?::?(\d\d))?)?$ (case-insensitive), with the
 * zone required, then ajv-formats' range checks and its leap-second rule. */
static bool check_time(const char *s, size_t len) {
  if (len < 8 || !digits(s, 2) || s[2] != ':' || !digits(s + 3, 2) || s[5] != ':' || !digits(s + 6, 2))
    return false;
  size_t i = 8;
  double frac = 0, scale = 0.1;
  if (i < len && s[i] == '.') {
    size_t start = ++i;
    for (; i < len && g_ascii_isdigit(s[i]); i++, scale /= 10) frac += (s[i] - '0') * scale;
    if (i == start) return false;
  }
  int hr = num2(s), min = num2(s + 3), sign = 1, tzh = 0, tzm = 0;
  double sec = num2(s + 6) + frac;
  if (i == len) return false; /* the zone is required (strictTimeZone) */
  if (s[i] == 'z' || s[i] == 'Z') {
    i++;
  } else if (s[i] == '+' || s[i] == '-') {
    sign = s[i++] == '-' ? -1 : 1;
    if (i + 2 > len || !digits(s + i, 2)) return false;
    tzh = num2(s + i);
    i += 2;
    if (i < len && s[i] == ':') i++;
    if (i < len) {
      if (i + 2 != len || !digits(s + i, 2)) return false;
      tzm = num2(s + i);
      i += 2;
    } else if (s[i - 1] == ':') {
      return false;
    }
  } else {
    return false;
  }
  if (i != len || tzh > 23 || tzm > 59) return false;
  if (hr <= 23 && min <= 59 && sec < 60) return true;
  int utc_min = min - tzm * sign;
  int utc_hr = hr - tzh * sign - (utc_min < 0 ? 1 : 0);
  return (utc_hr == 23 || utc_hr == -1) && (utc_min == 59 || utc_min == -1) && sec < 61;
}

/* ---- formats ajv-formats checks with a regular expression, in C for speed and to keep its
 * case-insensitive [a-z] ASCII (GLib's PCRE folds the Kelvin sign into k) ---- */

/* ^(?:urn:uuid:)?[0-9a-f]{8}-(?:[0-9a-f]{4}-){3}[0-9a-f]{12}$ (case-insensitive) */
static bool check_uuid(const char *s, size_t len) {
  if (len == 45 && g_ascii_strncasecmp(s, "urn:uuid:", 9) == 0) s += 9, len -= 9;
  if (len != 36) return false;
  for (size_t i = 0; i < 36; i++)
    if (i == 8 || i == 13 || i == 18 || i == 23 ? s[i] != '-' : !g_ascii_isxdigit(s[i])) return false;
  return true;
}

/* (?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3} and the same octet: no leading zeros. */
static bool check_ipv4(const char *s, size_t len) {
  size_t i = 0;
  for (int octet = 0; octet < 4; octet++) {
    if (octet && (i >= len || s[i++] != '.')) return false;
    size_t start = i;
    int value = 0;
    while (i < len && g_ascii_isdigit(s[i]) && i - start < 3) value = value * 10 + (s[i++] - '0');
    size_t n = i - start;
    if (n == 0 || (n > 1 && s[start] == '0') || value > 255) return false;
  }
  return i == len;
}

static bool email_local_char(char c) {
  return g_ascii_isalnum(c) || (c && strchr("!#$%&'*+/=?^_`{|}~-", c));
}

/* ^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*@
 *  (?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$ (case-insensitive):
 * dot-separated non-empty atoms, then at least two dot-separated labels of letters, digits
 * and inner hyphens. */
static bool check_email(const char *s, size_t len) {
  const char *at = memchr(s, '@', len);
  if (!at) return false;
  size_t local = (size_t)(at - s), i;
  for (i = 0; i < local; i++)
    if (s[i] == '.' ? (i == 0 || s[i - 1] == '.' || i + 1 == local) : !email_local_char(s[i])) return false;
  if (local == 0) return false;
  const char *d = at + 1;
  size_t dlen = len - local - 1, labels = 0, start = 0;
  for (i = 0; i <= dlen; i++) {
    if (i < dlen && d[i] != '.') {
      if (!g_ascii_isalnum(d[i]) && d[i] != '-') return false;
      continue;
    }
    if (i == start || d[start] == '-' || d[i - 1] == '-') return false;
    labels++;
    start = i + 1;
  }
  return labels >= 2;
}

/* JavaScript's \s, which ajv-formats splits a date-time on (with t and T). */
static bool js_space(gunichar c) {
  return (c >= 0x09 && c <= 0x0d) || c == 0x20 || c == 0xa0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f ||
         c == 0x205f || c == 0x3000 || c == 0xfeff;
}

static bool check_date_time(const char *s, size_t len) {
  size_t cut = len, cut_len = 0;
  for (size_t i = 0; i < len;) {
    gunichar c = g_utf8_get_char_validated(s + i, (gssize)(len - i));
    if (c == (gunichar)-1 || c == (gunichar)-2) return false;
    size_t n = (size_t)(g_utf8_next_char(s + i) - (s + i));
    if (c == 't' || c == 'T' || js_space(c)) {
      if (cut != len) return false; /* split() would give three parts or more */
      cut = i;
      cut_len = n;
    }
    i += n;
  }
  return cut != len && check_date(s, cut) && check_time(s + cut + cut_len, len - cut - cut_len);
}

bool hvb__schema_format_check(hvb_schema_format f, const GRegex *re, const char *s, size_t len) {
  switch (f) {
  case HVB_FMT_DATE: return check_date(s, len);
  case HVB_FMT_TIME: return check_time(s, len);
  case HVB_FMT_DATE_TIME: return check_date_time(s, len);
  case HVB_FMT_UUID: return check_uuid(s, len);
  case HVB_FMT_IPV4: return check_ipv4(s, len);
  case HVB_FMT_EMAIL: return check_email(s, len);
  case HVB_FMT_URI:
    /* ajv-formats' uri() also wants a "/" or ":" somewhere (NOT_URI_FRAGMENT). */
    if (!memchr(s, '/', len) && !memchr(s, ':', len)) return false;
    break;
  default: break;
  }
  return re && g_regex_match_full(re, s, (gssize)len, 0, 0, NULL, NULL);
}

/* ---- values ---- */

size_t hvb__schema_utf8_length(const char *s, size_t len) {
  size_t n = 0;
  for (size_t i = 0; i < len; i++) n += ((unsigned char)s[i] & 0xc0) != 0x80;
  return n;
}

static bool is_number(json_object *x) {
  json_type t = json_object_get_type(x);
  return t == json_type_int || t == json_type_double;
}

bool hvb__schema_json_equal(json_object *a, json_object *b) {
  json_type ta = json_object_get_type(a), tb = json_object_get_type(b);
  if (is_number(a) && is_number(b)) {
    if (ta == json_type_int && tb == json_type_int) return json_object_get_int64(a) == json_object_get_int64(b);
    return json_object_get_double(a) == json_object_get_double(b);
  }
  if (ta != tb) return false;
  switch (ta) {
  case json_type_null: return true;
  case json_type_boolean: return !json_object_get_boolean(a) == !json_object_get_boolean(b);
  case json_type_string:
    return json_object_get_string_len(a) == json_object_get_string_len(b) &&
           memcmp(json_object_get_string(a), json_object_get_string(b),
                  (size_t)json_object_get_string_len(a)) == 0;
  case json_type_array: {
    size_t n = json_object_array_length(a);
    if (n != json_object_array_length(b)) return false;
    for (size_t i = 0; i < n; i++)
      if (!hvb__schema_json_equal(json_object_array_get_idx(a, i), json_object_array_get_idx(b, i)))
        return false;
    return true;
  }
  case json_type_object: {
    if (json_object_object_length(a) != json_object_object_length(b)) return false;
    json_object_object_foreach(a, key, va) {
      json_object *vb;
      if (!json_object_object_get_ex(b, key, &vb) || !hvb__schema_json_equal(va, vb)) return false;
    }
    return true;
  }
  default: return false;
  }
}
