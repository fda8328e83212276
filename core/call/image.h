/* core/call/image.h: what the chat pipeline needs of images (core/call/image.c). */
#ifndef HVB_IMAGE_INTERNAL_H
#define HVB_IMAGE_INTERNAL_H

#include <stdbool.h>
#include <json-c/json.h>
#include <heavenbase/error.h>
#include <heavenbase/image.h>
#include <glib.h>

/* Append the image_url parts of the call option "images" (borrowed; an array, see image.h)
 * to the last user message of `messages` (the request's own array, edited in place). A
 * string content becomes a list of parts. HVB_EINVAL naming the element, or when no user
 * message exists; the source's own error otherwise (prefixed with the element). */
bool hvb__images_attach(json_object *messages, json_object *images, hvb_error *err);

/* Append to `out` (hvb_image*, its own free function) a new image for each element of an
 * "images" option (borrowed; an array or null, the forms chat takes: a source string, an
 * image_url part, a provider item). Nothing is fetched. HVB_EINVAL naming the option, or
 * the element's own error prefixed "option 'images'[i]". */
bool hvb__images_from_option(json_object *images, GPtrArray *out, hvb_error *err);

/* Whether the image's bytes are here (in memory, or a URL already fetched). */
bool hvb__image_has_bytes(hvb_image *img);

/* Ensure the bytes of a URL-backed image are present (fetch once). */
bool hvb__image_load(hvb_image *img, hvb_error *err);

/* Set the revised prompt (copied). */
void hvb__image_set_revised_prompt(hvb_image *img, const char *prompt);

#endif
