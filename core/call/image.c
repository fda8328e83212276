/* core/call/image.c: the image type (see <heavenbase/image.h>) and images in chat requests.
 *
 * An image is either bytes in memory (checked when made: a known signature, a readable
 * header, a complete end) or a URL whose bytes are fetched on first need through the
 * library's transport and then kept. The header probe is a pure function over bytes
 * (hvb_image_probe_bytes), so it can be fuzzed alone.
 */
#include "call/image.h"
#include "net/transport.h"
#include "text/json.h"
#include "base/common.h"
#include "base/log.h"
#include "base/error.h"

#include <heavenbase/config.h>
#include <glib.h>
#include <string.h>

#define DEFAULT_URL_TIMEOUT_S 30.0

struct hvb_image {
  GMutex lock;          /* guards the lazy fetch */
  char *url;            /* http(s) URL of a URL-backed image, else NULL */
  GBytes *bytes;        /* NULL until a URL-backed image is fetched */
  hvb_image_info info;  /* valid once bytes is set */
  char *revised_prompt;
  long timeout_ms;      /* 0: the configured heavenbase.llm.image_url_timeout */
  size_t max_bytes;
};

/* ============================================================================================
 * Probing
 * ========================================================================================== */

static const struct {
  const char *format, *mime;
} formats[] = {{"png", "image/png"}, {"jpeg", "image/jpeg"}, {"webp", "image/webp"},
               {"gif", "image/gif"}};
enum { F_PNG, F_JPEG, F_WEBP, F_GIF };

static unsigned be16(const unsigned char *p) { return (unsigned)p[0] << 8 | p[1]; }
static guint32 be32(const unsigned char *p) {
  return (guint32)p[0] << 24 | (guint32)p[1] << 16 | (guint32)p[2] << 8 | p[3];
}
static unsigned le16(const unsigned char *p) { return (unsigned)p[1] << 8 | p[0]; }
static guint32 le24(const unsigned char *p) {
  return (guint32)p[2] << 16 | (guint32)p[1] << 8 | p[0];
}
static guint32 le32(const unsigned char *p) { return le24(p) | (guint32)p[3] << 24; }

static bool truncated(hvb_error *err, const char *fmt, size_t len) {
  return hvb__fail(err, HVB_TRUNCATED, "truncated %s data: %zu bytes end before its header does",
                   fmt, len);
}

static bool set_info(hvb_image_info *info, int f, guint32 w, guint32 h, hvb_error *err) {
  if (w == 0 || h == 0 || w > G_MAXINT32 || h > G_MAXINT32)
    return hvb__fail(err, HVB_PARSE, "malformed %s header: size %ux%u", formats[f].format,
                     (unsigned)w, (unsigned)h);
  info->format = formats[f].format;
  info->mime = formats[f].mime;
  info->width = (int)w;
  info->height = (int)h;
  return true;
}

static bool probe_jpeg(const unsigned char *d, size_t len, hvb_image_info *info, hvb_error *err) {
  size_t i = 2;
  for (;;) {
    if (i >= len) return truncated(err, "JPEG", len);
    if (d[i] != 0xFF)
      return hvb__fail(err, HVB_PARSE, "malformed JPEG: no marker at offset %zu", i);
    while (i < len && d[i] == 0xFF) i++; /* fill bytes */
    if (i >= len) return truncated(err, "JPEG", len);
    unsigned m = d[i++];
    if (m == 0xD8 || m == 0x01 || (m >= 0xD0 && m <= 0xD7)) continue; /* no length */
    if (m == 0xD9 || m == 0xDA)
      return hvb__fail(err, HVB_PARSE, "malformed JPEG: no SOF marker before the image data");
    if (i + 2 > len) return truncated(err, "JPEG", len);
    unsigned seg = be16(d + i);
    if (seg < 2) return hvb__fail(err, HVB_PARSE, "malformed JPEG: segment length %u", seg);
    bool sof = m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC;
    if (sof) {
      if (i + 7 > len) return truncated(err, "JPEG", len);
      return set_info(info, F_JPEG, be16(d + i + 5), be16(d + i + 3), err);
    }
    i += seg;
  }
}

static bool probe_webp(const unsigned char *d, size_t len, hvb_image_info *info, hvb_error *err) {
  if (len < 16) return truncated(err, "WebP", len);
  if (!memcmp(d + 12, "VP8 ", 4)) {
    if (len < 30) return truncated(err, "WebP", len);
    if (d[23] != 0x9d || d[24] != 0x01 || d[25] != 0x2a)
      return hvb__fail(err, HVB_PARSE, "malformed WebP: bad VP8 frame start code");
    return set_info(info, F_WEBP, le16(d + 26) & 0x3fff, le16(d + 28) & 0x3fff, err);
  }
  if (!memcmp(d + 12, "VP8L", 4)) {
    if (len < 25) return truncated(err, "WebP", len);
    if (d[20] != 0x2f) return hvb__fail(err, HVB_PARSE, "malformed WebP: bad VP8L signature");
    guint32 b = le32(d + 21);
    return set_info(info, F_WEBP, (b & 0x3fff) + 1, ((b >> 14) & 0x3fff) + 1, err);
  }
  if (!memcmp(d + 12, "VP8X", 4)) {
    if (len < 30) return truncated(err, "WebP", len);
    return set_info(info, F_WEBP, le24(d + 24) + 1, le24(d + 27) + 1, err);
  }
  return hvb__fail(err, HVB_PARSE, "malformed WebP: unknown first chunk");
}

/* Is d[0..len) the start of `sig` (a short file that may be a cut image)? */
static bool prefix_of(const unsigned char *d, size_t len, const char *sig, size_t siglen) {
  return len < siglen && memcmp(d, sig, len) == 0;
}

HVB_PUBLIC bool hvb_image_probe_bytes(const void *data, size_t len, hvb_image_info *info,
                                      hvb_error *err) {
  if (!info || (!data && len)) return hvb__fail(err, HVB_EINVAL, "data and info must not be NULL");
  const unsigned char *d = data;
  if (len == 0) return hvb__fail(err, HVB_PARSE, "not an image: no bytes");
  static const char png_sig[] = "\x89PNG\r\n\x1a\n";
  if (len >= 8 && !memcmp(d, png_sig, 8)) {
    if (len < 24) return truncated(err, "PNG", len);
    if (memcmp(d + 12, "IHDR", 4)) return hvb__fail(err, HVB_PARSE, "malformed PNG: no IHDR");
    return set_info(info, F_PNG, be32(d + 16), be32(d + 20), err);
  }
  if (len >= 3 && d[0] == 0xFF && d[1] == 0xD8 && d[2] == 0xFF) return probe_jpeg(d, len, info, err);
  if (len >= 12 && !memcmp(d, "RIFF", 4) && !memcmp(d + 8, "WEBP", 4))
    return probe_webp(d, len, info, err);
  if (len >= 6 && (!memcmp(d, "GIF87a", 6) || !memcmp(d, "GIF89a", 6))) {
    if (len < 10) return truncated(err, "GIF", len);
    return set_info(info, F_GIF, le16(d + 6), le16(d + 8), err);
  }
  if (prefix_of(d, len, png_sig, 8) || prefix_of(d, len, "\xFF\xD8\xFF", 3) ||
      prefix_of(d, len, "GIF87a", 6) || prefix_of(d, len, "GIF89a", 6) ||
      (prefix_of(d, len, "RIFF", 4)) || (len >= 4 && len < 12 && !memcmp(d, "RIFF", 4)))
    return hvb__fail(err, HVB_TRUNCATED, "truncated image data: only %zu bytes", len);
  return hvb__fail(err, HVB_PARSE,
                   "not an image: the data is none of PNG, JPEG, WebP or GIF (starts with "
                   "%02x %02x %02x %02x)",
                   d[0], len > 1 ? d[1] : 0, len > 2 ? d[2] : 0, len > 3 ? d[3] : 0);
}

/* Does the data end where its format says it ends? Catches a download or a file cut short. */
static bool check_complete(const unsigned char *d, size_t len, const hvb_image_info *info,
                           hvb_error *err) {
  bool ok = true;
  if (info->format == formats[F_PNG].format) {
    ok = false;
    for (size_t i = len >= 64 ? len - 64 : 0; i + 8 <= len; i++)
      if (!memcmp(d + i, "IEND", 4)) ok = true;
  } else if (info->format == formats[F_JPEG].format) {
    ok = false;
    for (size_t i = len >= 64 ? len - 64 : 0; i + 2 <= len; i++)
      if (d[i] == 0xFF && d[i + 1] == 0xD9) ok = true;
  } else if (info->format == formats[F_GIF].format) {
    ok = d[len - 1] == 0x3B;
  } else if (info->format == formats[F_WEBP].format) {
    ok = (guint64)len >= 8 + (guint64)le32(d + 4);
  }
  if (!ok)
    return hvb__fail(err, HVB_TRUNCATED, "truncated %s data: %zu bytes end before the image does",
                     info->format, len);
  return true;
}

/* ============================================================================================
 * Constructors
 * ========================================================================================== */

static hvb_image *image_alloc(void) {
  hvb_image *img = g_new0(hvb_image, 1);
  g_mutex_init(&img->lock);
  img->max_bytes = HVB_IMAGE_MAX_BYTES;
  return img;
}

/* "png" for "png", "PNG", "image/png"; "jpeg" for "jpg"; NULL when unknown. */
static const char *format_name(const char *f) {
  if (g_ascii_strncasecmp(f, "image/", 6) == 0) f += 6;
  if (!g_ascii_strcasecmp(f, "jpg")) return "jpeg";
  for (size_t i = 0; i < G_N_ELEMENTS(formats); i++)
    if (!g_ascii_strcasecmp(f, formats[i].format)) return formats[i].format;
  return NULL;
}

/* An image of `bytes` (taken), checked. */
static hvb_image *image_from_gbytes(GBytes *bytes, const char *format, hvb_error *err) {
  gsize len = 0;
  const unsigned char *d = g_bytes_get_data(bytes, &len);
  hvb_image_info info;
  if (!hvb_image_probe_bytes(d, len, &info, err) || !check_complete(d, len, &info, err)) {
    g_bytes_unref(bytes);
    return NULL;
  }
  if (format) {
    const char *want = format_name(format);
    if (!want || want != info.format) {
      g_bytes_unref(bytes);
      hvb__fail(err, HVB_EINVAL, "%s: the bytes are a %s image",
                want ? "format mismatch" : "unknown image format", info.format);
      if (err) hvb__error_prefix(err, "format '%s'", format);
      return NULL;
    }
  }
  hvb_image *img = image_alloc();
  img->bytes = bytes;
  img->info = info;
  return img;
}

HVB_PUBLIC hvb_image *hvb_image_new_bytes(const void *data, size_t len, const char *format,
                                          hvb_error *err) {
  if (!data && len) {
    hvb__fail(err, HVB_EINVAL, "image data is NULL");
    return NULL;
  }
  return image_from_gbytes(g_bytes_new(data, len), format, err);
}

static bool b64_char(char c) {
  return g_ascii_isalnum(c) || c == '+' || c == '/';
}

/* Decode strict base64 (whitespace skipped, padding optional). NULL with HVB_PARSE naming the
 * offset of the first bad character. */
static GBytes *b64_decode(const char *b64, hvb_error *err) {
  GString *clean = g_string_new(NULL);
  size_t pad = 0;
  for (const char *p = b64; *p; p++) {
    if (g_ascii_isspace(*p)) continue;
    if (*p == '=') {
      pad++;
      continue;
    }
    if (!b64_char(*p) || pad) {
      hvb__fail(err, HVB_PARSE, "invalid base64: unexpected character at offset %zu",
                (size_t)(p - b64));
      g_string_free(clean, TRUE);
      return NULL;
    }
    g_string_append_c(clean, *p);
  }
  if (clean->len % 4 == 1 || pad > 2 || clean->len == 0) {
    hvb__fail(err, HVB_PARSE, "invalid base64: %s",
              clean->len ? "wrong length" : "no data");
    g_string_free(clean, TRUE);
    return NULL;
  }
  while (clean->len % 4) g_string_append_c(clean, '=');
  gsize n = 0;
  guchar *out = g_base64_decode(clean->str, &n);
  g_string_free(clean, TRUE);
  return g_bytes_new_take(out, n);
}

HVB_PUBLIC hvb_image *hvb_image_new_base64(const char *b64, const char *format, hvb_error *err) {
  if (!b64) {
    hvb__fail(err, HVB_EINVAL, "base64 text is NULL");
    return NULL;
  }
  GBytes *b = b64_decode(b64, err);
  return b ? image_from_gbytes(b, format, err) : NULL;
}

HVB_PUBLIC hvb_image *hvb_image_new_file(const char *path, hvb_error *err) {
  if (!path) {
    hvb__fail(err, HVB_EINVAL, "image path is NULL");
    return NULL;
  }
  char *data = NULL;
  gsize len = 0;
  GError *ge = NULL;
  if (!g_file_get_contents(path, &data, &len, &ge)) {
    hvb__fail(err, HVB_IO, "cannot read image file '%s': %s", path, ge->message);
    g_error_free(ge);
    return NULL;
  }
  hvb_image *img = image_from_gbytes(g_bytes_new_take(data, len), NULL, err);
  if (!img) hvb__error_prefix(err, "image file '%s'", path);
  return img;
}

static bool is_http_url(const char *s) {
  return g_ascii_strncasecmp(s, "http://", 7) == 0 || g_ascii_strncasecmp(s, "https://", 8) == 0;
}

/* "data:image/png;base64,...." */
static hvb_image *from_data_url(const char *url, hvb_error *err) {
  const char *comma = strchr(url, ',');
  if (!comma) {
    hvb__fail(err, HVB_PARSE, "malformed data URL: no ','");
    return NULL;
  }
  char *meta = g_strndup(url + 5, (gsize)(comma - url - 5));
  hvb_image *img = NULL;
  if (!g_str_has_suffix(meta, ";base64")) {
    hvb__fail(err, HVB_PARSE, "data URL is not base64 (';base64,' is required for images)");
  } else {
    meta[strlen(meta) - 7] = '\0';
    /* The declared type is informative: the bytes decide, and say if they disagree. */
    const char *fmt = *meta && format_name(meta) ? meta : NULL;
    img = hvb_image_new_base64(comma + 1, fmt, err);
    if (!img) hvb__error_prefix(err, "data URL");
  }
  g_free(meta);
  return img;
}

HVB_PUBLIC hvb_image *hvb_image_new_url(const char *url, hvb_error *err) {
  if (!url) {
    hvb__fail(err, HVB_EINVAL, "image URL is NULL");
    return NULL;
  }
  if (g_ascii_strncasecmp(url, "data:", 5) == 0) return from_data_url(url, err);
  if (!is_http_url(url)) {
    hvb__fail(err, HVB_EINVAL, "image URL '%.80s' is neither http(s) nor a data URL", url);
    return NULL;
  }
  hvb_image *img = image_alloc();
  img->url = g_strdup(url);
  return img;
}

/* Could `s` be base64 at all (only its alphabet, whitespace and padding)? */
static bool looks_base64(const char *s) {
  for (; *s; s++)
    if (!b64_char(*s) && *s != '=' && !g_ascii_isspace(*s)) return false;
  return true;
}

HVB_PUBLIC hvb_image *hvb_image_new(const char *source, hvb_error *err) {
  if (!source || !*source) {
    hvb__fail(err, HVB_EINVAL, "image source is %s", source ? "empty" : "NULL");
    return NULL;
  }
  if (g_ascii_strncasecmp(source, "data:", 5) == 0 || is_http_url(source))
    return hvb_image_new_url(source, err);
  if (g_file_test(source, G_FILE_TEST_EXISTS)) return hvb_image_new_file(source, err);
  /* Long text of base64 characters is base64; anything else was meant as a path. */
  if (strlen(source) >= 16 && looks_base64(source)) return hvb_image_new_base64(source, NULL, err);
  return hvb_image_new_file(source, err);
}

HVB_PUBLIC hvb_image *hvb_image_new_item(json_object *item, hvb_error *err) {
  if (!json_object_is_type(item, json_type_object)) {
    hvb__fail(err, HVB_EINVAL, "image item must be a JSON object");
    return NULL;
  }
  hvb_image *img = NULL;
  const char *b64 = hvb__json_str(item, "b64_json");
  const char *url = hvb__json_str(item, "url");
  json_object *inl = json_object_object_get(item, "inline_data");
  if (!inl) inl = json_object_object_get(item, "inlineData");
  if (b64) {
    img = hvb_image_new_base64(b64, NULL, err);
    if (!img) hvb__error_prefix(err, "b64_json");
  } else if (url) {
    img = hvb_image_new_url(url, err);
  } else if (json_object_is_type(inl, json_type_object)) {
    const char *data = hvb__json_str(inl, "data");
    const char *mime = hvb__json_str(inl, "mime_type");
    if (!mime) mime = hvb__json_str(inl, "mimeType");
    if (!data) {
      hvb__fail(err, HVB_EINVAL, "image item's inline_data has no 'data' string");
      return NULL;
    }
    img = hvb_image_new_base64(data, mime && format_name(mime) ? mime : NULL, err);
    if (!img) hvb__error_prefix(err, "inline_data");
  } else {
    char *keys = hvb__json_keys_list(item);
    hvb__fail(err, HVB_EINVAL,
              "image item has none of 'b64_json', 'url' or 'inline_data' (its keys: %s)",
              *keys ? keys : "none");
    g_free(keys);
    return NULL;
  }
  if (img) hvb__image_set_revised_prompt(img, hvb__json_str(item, "revised_prompt"));
  return img;
}

void hvb__image_set_revised_prompt(hvb_image *img, const char *prompt) {
  g_free(img->revised_prompt);
  img->revised_prompt = g_strdup(prompt);
}

HVB_PUBLIC void hvb_image_free(hvb_image *img) {
  if (!img) return;
  g_mutex_clear(&img->lock);
  g_free(img->url);
  if (img->bytes) g_bytes_unref(img->bytes);
  g_free(img->revised_prompt);
  g_free(img);
}

HVB_PUBLIC void hvb_image_set_fetch_limits(hvb_image *img, long timeout_ms, size_t max_bytes) {
  if (!img) return;
  if (timeout_ms > 0) img->timeout_ms = timeout_ms;
  if (max_bytes > 0) img->max_bytes = max_bytes;
}

HVB_PUBLIC const char *hvb_image_url(const hvb_image *img) { return img ? img->url : NULL; }
HVB_PUBLIC const char *hvb_image_revised_prompt(const hvb_image *img) {
  return img ? img->revised_prompt : NULL;
}

/* ============================================================================================
 * The lazy fetch
 * ========================================================================================== */

typedef struct fetch_sink {
  GByteArray *buf;
  size_t max;
  const char *url;
} fetch_sink;

static hvb_sink_rc fetch_body(void *ud, const char *data, size_t len, hvb_error *err) {
  fetch_sink *s = ud;
  if (s->buf->len + len > s->max) {
    hvb__fail(err, HVB_TOO_LARGE, "image at %s exceeds %zu bytes", s->url, s->max);
    return HVB_SINK_ABORT;
  }
  g_byte_array_append(s->buf, (const guint8 *)data, (guint)len);
  return HVB_SINK_PROGRESS;
}

static void fetch_reset(void *ud) {
  fetch_sink *s = ud;
  g_byte_array_set_size(s->buf, 0);
}

/* heavenbase.llm.image_url_timeout in milliseconds (default 30 s). */
static long configured_timeout_ms(void) {
  hvb_config *cfg = hvb_config_load(NULL);
  double s = cfg ? hvb_config_get_double(cfg, "heavenbase.llm.image_url_timeout",
                                         DEFAULT_URL_TIMEOUT_S)
                 : DEFAULT_URL_TIMEOUT_S;
  hvb_config_free(cfg);
  if (!(s > 0) || s > 86400) s = DEFAULT_URL_TIMEOUT_S;
  return (long)(s * 1000.0);
}

bool hvb__image_load(hvb_image *img, hvb_error *err) {
  if (!img) return hvb__fail(err, HVB_EINVAL, "image is NULL");
  g_mutex_lock(&img->lock);
  if (img->bytes) {
    g_mutex_unlock(&img->lock);
    return true;
  }
  long timeout = img->timeout_ms > 0 ? img->timeout_ms : configured_timeout_ms();
  fetch_sink sink = {g_byte_array_new(), img->max_bytes, img->url};
  hvb_http_request req = {
      .method = "GET",
      .url = img->url,
      .connect_timeout_ms = timeout,
      .timeout_ms = timeout,
      .max_retries = 0, /* a 404 or a timeout will not change; the caller may try again */
  };
  /* One pool for every image fetch: repeated fetches from one host reuse a connection. */
  hvb_client *client = hvb__client_get("hvb-image-fetch");
  hvb__log(HVB_LOG_DEBUG, "GET image %s (timeout %ld ms)", img->url, timeout);
  bool ok = hvb__http_perform(client, &req, fetch_body, fetch_reset, &sink, err);
  hvb__client_unref(client);
  GBytes *bytes = g_byte_array_free_to_bytes(sink.buf);
  hvb_image_info info;
  gsize len = 0;
  const unsigned char *d = g_bytes_get_data(bytes, &len);
  if (ok && (!hvb_image_probe_bytes(d, len, &info, err) || !check_complete(d, len, &info, err)))
    ok = false;
  if (ok) {
    img->bytes = bytes;
    img->info = info;
  } else {
    g_bytes_unref(bytes);
    hvb__error_prefix(err, "image URL %s", img->url);
  }
  g_mutex_unlock(&img->lock);
  return ok;
}

/* ============================================================================================
 * Conversions
 * ========================================================================================== */

HVB_PUBLIC const unsigned char *hvb_image_bytes(hvb_image *img, size_t *len, hvb_error *err) {
  if (!len) {
    hvb__fail(err, HVB_EINVAL, "len must not be NULL");
    return NULL;
  }
  *len = 0;
  if (!hvb__image_load(img, err)) return NULL;
  gsize n = 0;
  const unsigned char *d = g_bytes_get_data(img->bytes, &n);
  *len = n;
  return d;
}

HVB_PUBLIC char *hvb_image_base64(hvb_image *img, hvb_error *err) {
  size_t len;
  const unsigned char *d = hvb_image_bytes(img, &len, err);
  return d ? g_base64_encode(d, len) : NULL;
}

HVB_PUBLIC char *hvb_image_data_url(hvb_image *img, hvb_error *err) {
  char *b64 = hvb_image_base64(img, err);
  if (!b64) return NULL;
  char *url = g_strconcat("data:", img->info.mime, ";base64,", b64, NULL);
  g_free(b64);
  return url;
}

static json_object *part_for_url(const char *url) {
  json_object *iu = json_object_new_object();
  json_object_object_add(iu, "url", json_object_new_string(url));
  json_object *part = json_object_new_object();
  json_object_object_add(part, "type", json_object_new_string("image_url"));
  json_object_object_add(part, "image_url", iu);
  return part;
}

HVB_PUBLIC json_object *hvb_image_content_part(hvb_image *img, hvb_error *err) {
  if (!img) {
    hvb__fail(err, HVB_EINVAL, "image is NULL");
    return NULL;
  }
  if (img->url) return part_for_url(img->url);
  char *url = hvb_image_data_url(img, err);
  if (!url) return NULL;
  json_object *part = part_for_url(url);
  g_free(url);
  return part;
}

HVB_PUBLIC bool hvb_image_save(hvb_image *img, const char *path, hvb_error *err) {
  if (!path) return hvb__fail(err, HVB_EINVAL, "path is NULL");
  size_t len;
  const unsigned char *d = hvb_image_bytes(img, &len, err);
  if (!d) return false;
  GError *ge = NULL;
  /* g_file_set_contents writes a temporary file beside `path` and renames it over. */
  if (!g_file_set_contents(path, (const char *)d, (gssize)len, &ge)) {
    hvb__fail(err, HVB_IO, "cannot save image to '%s': %s", path, ge->message);
    g_error_free(ge);
    return false;
  }
  return true;
}

HVB_PUBLIC bool hvb_image_probe(hvb_image *img, hvb_image_info *info, hvb_error *err) {
  if (!info) return hvb__fail(err, HVB_EINVAL, "info is NULL");
  if (!hvb__image_load(img, err)) return false;
  *info = img->info;
  return true;
}

/* ============================================================================================
 * Images in chat
 * ========================================================================================== */

/* The content part for one element of the "images" option (new reference). */
static json_object *element_part(json_object *el, hvb_error *err) {
  if (json_object_is_type(el, json_type_string)) {
    const char *src = json_object_get_string(el);
    /* URLs and data URLs go as given: the provider fetches, we do not (and a data URL is
     * still checked, so a broken one fails here rather than at the provider). */
    hvb_image *img = hvb_image_new(src, err);
    if (!img) return NULL;
    json_object *part = hvb_image_content_part(img, err);
    hvb_image_free(img);
    return part;
  }
  if (json_object_is_type(el, json_type_object)) {
    const char *type = hvb__json_str(el, "type");
    if (type && !strcmp(type, "image_url")) {
      if (!hvb__json_str(json_object_object_get(el, "image_url"), "url")) {
        hvb__fail(err, HVB_EINVAL, "an image_url part needs 'image_url.url' (a string)");
        return NULL;
      }
      return hvb__json_copy(el);
    }
    hvb_image *img = hvb_image_new_item(el, err);
    if (!img) return NULL;
    json_object *part = hvb_image_content_part(img, err);
    hvb_image_free(img);
    return part;
  }
  hvb__fail(err, HVB_EINVAL, "must be a source string or an object, not %s",
            hvb__json_type_phrase(el));
  return NULL;
}

/* A new image for one element of the "images" option: what element_part takes. */
static hvb_image *element_image(json_object *el, hvb_error *err) {
  if (json_object_is_type(el, json_type_string))
    return hvb_image_new(json_object_get_string(el), err);
  if (json_object_is_type(el, json_type_object)) {
    const char *type = hvb__json_str(el, "type");
    if (!type || strcmp(type, "image_url") != 0) return hvb_image_new_item(el, err);
    const char *url = hvb__json_str(json_object_object_get(el, "image_url"), "url");
    if (url) return hvb_image_new_url(url, err);
    hvb__fail(err, HVB_EINVAL, "an image_url part needs 'image_url.url' (a string)");
    return NULL;
  }
  hvb__fail(err, HVB_EINVAL, "must be a source string or an object, not %s",
            hvb__json_type_phrase(el));
  return NULL;
}

bool hvb__images_from_option(json_object *images, GPtrArray *out, hvb_error *err) {
  if (!images || json_object_is_type(images, json_type_null)) return true;
  if (!json_object_is_type(images, json_type_array))
    return hvb__fail(err, HVB_EINVAL, "option 'images' must be an array of image sources, not %s",
                     hvb__json_type_phrase(images));
  for (size_t i = 0; i < json_object_array_length(images); i++) {
    hvb_image *img = element_image(json_object_array_get_idx(images, i), err);
    if (!img) {
      hvb__error_prefix(err, "option 'images'[%zu]", i);
      return false;
    }
    g_ptr_array_add(out, img);
  }
  return true;
}

bool hvb__image_has_bytes(hvb_image *img) {
  g_mutex_lock(&img->lock);
  bool here = img->bytes != NULL;
  g_mutex_unlock(&img->lock);
  return here;
}

bool hvb__images_attach(json_object *messages, json_object *images, hvb_error *err) {
  if (!images || json_object_is_type(images, json_type_null)) return true;
  if (!json_object_is_type(images, json_type_array))
    return hvb__fail(err, HVB_EINVAL, "call option 'images' must be an array of image sources");
  size_t n = json_object_array_length(images);
  if (n == 0) return true;
  json_object *user = NULL;
  for (size_t i = json_object_array_length(messages); i-- > 0;) {
    json_object *m = json_object_array_get_idx(messages, i);
    const char *role = hvb__json_str(m, "role");
    if (role && !strcmp(role, "user")) {
      user = m;
      break;
    }
  }
  if (!user)
    return hvb__fail(err, HVB_EINVAL,
                     "call option 'images' needs a user message to attach the images to");
  json_object *parts = json_object_new_array();
  for (size_t i = 0; i < n; i++) {
    json_object *part = element_part(json_object_array_get_idx(images, i), err);
    if (!part) {
      json_object_put(parts);
      hvb__error_prefix(err, "call option 'images'[%zu]", i);
      return false;
    }
    json_object_array_add(parts, part);
  }
  json_object *content = json_object_object_get(user, "content");
  json_object *list;
  if (json_object_is_type(content, json_type_array)) {
    list = json_object_get(content);
  } else {
    list = json_object_new_array();
    if (json_object_is_type(content, json_type_string)) {
      json_object *text = json_object_new_object();
      json_object_object_add(text, "type", json_object_new_string("text"));
      json_object_object_add(text, "text", json_object_get(content));
      json_object_array_add(list, text);
    }
  }
  for (size_t i = 0; i < n; i++)
    json_object_array_add(list, json_object_get(json_object_array_get_idx(parts, i)));
  json_object_put(parts);
  json_object_object_add(user, "content", list);
  return true;
}

HVB_PUBLIC hvb_result *hvb_llm_chat_images(hvb_llm *llm, const char *prompt,
                                           hvb_image *const *images, size_t n,
                                           json_object *call_options, hvb_error *err) {
  if (!prompt || (n && !images)) {
    hvb__fail(err, HVB_EINVAL, "%s", !prompt ? "prompt is NULL" : "images is NULL");
    return NULL;
  }
  if (call_options && !json_object_is_type(call_options, json_type_object)) {
    hvb__fail(err, HVB_EINVAL, "call options must be a JSON object");
    return NULL;
  }
  json_object *opts = call_options ? hvb__json_copy(call_options) : json_object_new_object();
  json_object *list = json_object_object_get(opts, "images");
  if (!json_object_is_type(list, json_type_array)) {
    if (list && !json_object_is_type(list, json_type_null)) {
      json_object_put(opts);
      hvb__fail(err, HVB_EINVAL, "call option 'images' must be an array of image sources");
      return NULL;
    }
    list = json_object_new_array();
    json_object_object_add(opts, "images", list);
  }
  for (size_t i = 0; i < n; i++) {
    json_object *part = hvb_image_content_part(images[i], err);
    if (!part) {
      hvb__error_prefix(err, "images[%zu]", i);
      json_object_put(opts);
      return NULL;
    }
    json_object_array_add(list, part);
  }
  hvb_result *r = hvb_llm_chat(llm, prompt, NULL, opts, err);
  json_object_put(opts);
  return r;
}
