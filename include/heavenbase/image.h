/* heavenbase/image.h: images (the C counterpart of the Python project's LLMImage), images in
 * chat, and image generation.
 *
 *     hvb_error err = HVB_ERROR_INIT;
 *     hvb_image *img = hvb_image_new("photo.jpg", &err);      // or a URL, a data URL, base64
 *     hvb_image_info info;
 *     if (img && hvb_image_probe(img, &info, &err))
 *       printf("%s %dx%d\n", info.format, info.width, info.height);
 *     hvb_image_free(img);
 *
 * An image holds its bytes, or a URL whose bytes are fetched lazily: only when a conversion
 * needs them (bytes, base64, data URL, save, probe), exactly once (the bytes are kept), over
 * the library's HTTP transport, within `heavenbase.llm.image_url_timeout` seconds (default
 * 30) and at most HVB_IMAGE_MAX_BYTES bytes (hvb_image_set_fetch_limits changes both). A
 * failed fetch is not kept: a later conversion tries again.
 *
 * Formats recognized (from the header bytes): PNG, JPEG (a SOF marker gives the size), WebP
 * (VP8, VP8L, VP8X) and GIF. Data in memory must be a complete image of one of them:
 * constructors check the signature, the header and the end (PNG's IEND, JPEG's EOI, GIF's
 * trailer, WebP's RIFF length).
 *
 * Errors: HVB_PARSE "not an image" (unknown signature) and "invalid base64" (with the
 * offset); HVB_TRUNCATED for data cut short; HVB_IO for an unreadable file (named);
 * HVB_HTTP for a URL answering an error status (the message names the URL and status);
 * HVB_TIMEOUT for a fetch slower than the timeout; HVB_TOO_LARGE beyond the size cap;
 * HVB_EINVAL for NULL or malformed arguments.
 *
 * Strings returned as "new" are freed with free().
 *
 * Thread safety: an hvb_image may be read by several threads at once (the lazy fetch runs
 * under the image's own lock, so concurrent conversions fetch once); hvb_image_free and
 * hvb_image_set_fetch_limits must not race with other uses of the same image. Distinct
 * images are independent.
 */
#ifndef HEAVENBASE_IMAGE_H
#define HEAVENBASE_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <json-c/json.h>
#include <heavenbase/error.h>
#include <heavenbase/llm.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Default cap on the bytes of one fetched image (64 MiB). */
#define HVB_IMAGE_MAX_BYTES (64u * 1024u * 1024u)

typedef struct hvb_image hvb_image;

/* What the header bytes say. `format` and `mime` are static strings ("png", "image/png"). */
typedef struct hvb_image_info {
  const char *format; /* "png", "jpeg", "webp", "gif" */
  const char *mime;   /* "image/png", ... */
  int width, height;  /* pixels */
} hvb_image_info;

/* ---- constructors: each returns a new image (free with hvb_image_free) or NULL with err ---- */

/* From any source string: "data:" -> a data URL; "http://" or "https://" -> a URL (fetched
 * lazily); an existing path -> the file (read now); otherwise base64 text. HVB_EINVAL when it
 * is none of these (the message quotes its start). */
hvb_image *hvb_image_new(const char *source, hvb_error *err);

/* From `len` bytes (copied). `format` ("png", "jpeg"/"jpg", "webp", "gif", or a MIME type)
 * may be NULL: the bytes tell; when given it must agree with them (HVB_EINVAL otherwise). */
hvb_image *hvb_image_new_bytes(const void *data, size_t len, const char *format,
                               hvb_error *err);

/* From base64 text (standard alphabet; whitespace ignored; padding optional). */
hvb_image *hvb_image_new_base64(const char *b64, const char *format, hvb_error *err);

/* From a file (read at once; HVB_IO names the file and the reason). */
hvb_image *hvb_image_new_file(const char *path, hvb_error *err);

/* From an http(s) URL (nothing is fetched yet) or a data URL (decoded now). */
hvb_image *hvb_image_new_url(const char *url, hvb_error *err);

/* From one item of a provider's payload (borrowed): {"b64_json": "..."} (OpenAI),
 * {"url": "..."}, or Gemini's {"inline_data" | "inlineData": {"mime_type" | "mimeType",
 * "data"}}. A "revised_prompt" string is kept (hvb_image_revised_prompt). */
hvb_image *hvb_image_new_item(json_object *item, hvb_error *err);

void hvb_image_free(hvb_image *img); /* NULL is a no-op */

/* Change the lazy fetch's limits: `timeout_ms` > 0 replaces the configured timeout,
 * `max_bytes` > 0 the size cap. */
void hvb_image_set_fetch_limits(hvb_image *img, long timeout_ms, size_t max_bytes);

/* ---- getters (borrowed from the image, never fetch) ---- */

/* The URL of a URL-backed image, else NULL. */
const char *hvb_image_url(const hvb_image *img);
/* The provider's revised prompt of a generated image, else NULL. */
const char *hvb_image_revised_prompt(const hvb_image *img);

/* ---- conversions (fetch a URL-backed image first) ---- */

/* The bytes, borrowed until hvb_image_free; *len (required) gets their length. */
const unsigned char *hvb_image_bytes(hvb_image *img, size_t *len, hvb_error *err);
/* Base64 of the bytes; new string. */
char *hvb_image_base64(hvb_image *img, hvb_error *err);
/* "data:<mime>;base64,<...>"; new string. */
char *hvb_image_data_url(hvb_image *img, hvb_error *err);
/* The OpenAI chat content part {"type": "image_url", "image_url": {"url": ...}} (new
 * reference). A URL-backed image keeps its URL (the provider fetches it: nothing is fetched
 * here); any other image becomes a data URL. */
json_object *hvb_image_content_part(hvb_image *img, hvb_error *err);
/* Write the bytes to `path` atomically (a temporary file in the same directory, then
 * rename): a reader never sees half an image. HVB_IO names the path. */
bool hvb_image_save(hvb_image *img, const char *path, hvb_error *err);
/* Format, MIME type, width and height. */
bool hvb_image_probe(hvb_image *img, hvb_image_info *info, hvb_error *err);

/* Probe raw header bytes (no image object; never reads past `len`). HVB_PARSE for an unknown
 * signature or a malformed header, HVB_TRUNCATED when `len` ends before the size is known. */
bool hvb_image_probe_bytes(const void *data, size_t len, hvb_image_info *info, hvb_error *err);

/* ---- images in chat ----
 *
 * The chat call option "images" (an array) appends one image_url part per element to the
 * LAST user message (a string content becomes [{"type": "text", "text": ...}, parts...]).
 * An element is a source string (path, http(s) URL, data URL, base64: as hvb_image_new; a
 * path is read and sent as a data URL), a content part object ({"type": "image_url", ...},
 * as hvb_image_content_part gives), or a provider item (as hvb_image_new_item). Errors name
 * the element ("call option 'images'[1]: ..."); HVB_EINVAL when there is no user message. */

/* Chat with `prompt` and `n` images (borrowed): hvb_llm_chat with the images added to the
 * "images" call option (after any given there). */
hvb_result *hvb_llm_chat_images(hvb_llm *llm, const char *prompt, hvb_image *const *images,
                                size_t n, json_object *call_options, hvb_error *err);

/* ---- image generation ---- */

typedef struct hvb_images hvb_images;

/* Generate images from `prompt`, optionally from reference images, on the gateway's image
 * operation (checked first with hvb_llm_supports: HVB_UNSUPPORTED for bifrost and anthropic).
 * Options (JSON object, borrowed, may be NULL): "size" ("1024x1024"), "n", "seed",
 * "quality", any other request argument (or inside "args"); "include" (a comma-separated
 * list; "raw" keeps the provider's response, hvb_images_raw); "cache" (as for chat);
 * "images" and "mask" (below).
 *
 * Reference images: the `nrefs` images of `refs` (borrowed), then the elements of the option
 * "images" (the forms chat takes: a path, an http(s) URL, a data URL, base64, an image_url
 * part, a provider item; also when given to hvb_llm_new), in that order. They are sent or
 * the call fails; never dropped. Where they go is catalog data, the model's
 * "reference_images": "edits" (the GPT image models in the bundled catalog) uploads them as
 * files in a multipart/form-data request to the provider's /images/edits (field "image",
 * "image[]" for several; the other arguments as form fields), "generations" puts them in the
 * JSON generations request's "image" array. An http(s) URL reference is downloaded for
 * "edits" (within heavenbase.llm.image_url_timeout and HVB_IMAGE_MAX_BYTES; a failure fails
 * the call, naming it) and sent as its URL for "generations". Option "mask" (an image
 * source, needs references) goes as the file part "mask". HVB_UNSUPPORTED naming the option
 * and the model when its catalog entry has no "reference_images" (add a catalog.d entry for
 * a model the catalog does not know), or the gateway when it does not declare
 * HVB_GATEWAY_CAP_IMAGE_REFS (openai, portkey and litellm do; the offline mock does not);
 * HVB_CONFIG for a "reference_images" value other than those two; HVB_EINVAL naming a bad
 * element ("option 'images'[1]: ...", "reference image 0: ..."). The cache key covers the
 * references' bytes.
 * A model's catalog entry may list request arguments it rejects ("rejects_args"): those are
 * never sent, whoever set them. Models that answer with b64_json always and reject
 * "response_format" (in the bundled catalog: gpt-image-1, gpt-image-1-mini, gpt-5-image-mini,
 * gpt-5.4-image-2) list it; other models are asked for "b64_json" unless the caller chose. A
 * model the catalog does not know gets a drop-in entry (catalog.d) to say the same. Items
 * with "b64_json" and with "url" both become images (a URL one is fetched lazily).
 * The response cache's `image` namespace serves a repeated call only when the request has a
 * "seed" (the deterministic policy); a URL image is fetched before it is stored.
 * Returns a new result (hvb_images_free) or NULL with err. Thread-safe as hvb_llm_chat. */
hvb_images *hvb_llm_imagen(hvb_llm *llm, const char *prompt, hvb_image *const *refs,
                           size_t nrefs, json_object *options, hvb_error *err);

size_t hvb_images_count(const hvb_images *r);
/* Image i, borrowed until hvb_images_free (NULL out of range). Its conversions may fetch. */
hvb_image *hvb_images_at(hvb_images *r, size_t i);
/* The response (borrowed) when "include" had "raw", else NULL. */
json_object *hvb_images_raw(const hvb_images *r);
/* Usage reported by the provider (borrowed), NULL when none. */
json_object *hvb_images_usage(const hvb_images *r);
/* Was the result replayed from the response cache? */
bool hvb_images_cached(const hvb_images *r);
void hvb_images_free(hvb_images *r); /* NULL is a no-op */

#ifdef __cplusplus
}
#endif

#endif
