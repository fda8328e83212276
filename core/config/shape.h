/* core/config/shape.h: request shapes that are catalog data (core/config/shape.c): how a
 * provider's embeddings route differs from the canonical request (its "embedding" object) and
 * the arguments a model rejects ("rejects_args") and where it takes reference images
 * ("reference_images"). The schema is documented at the top of
 * core/config/spec.c. No locking: every function works on the objects it is given. */
#ifndef HVB_CONFIG_SHAPE_H
#define HVB_CONFIG_SHAPE_H

#include <stdbool.h>
#include <json-c/json.h>
#include <heavenbase/error.h>

/* Check a provider's "embedding" object (borrowed): false with HVB_CONFIG naming the field
 * ("'embedding.fields' must be ..."); the caller prefixes the provider. */
bool hvb__embedding_shape_check(json_object *shape, hvb_error *err);

/* Reshape the canonical embeddings request `body` (with its "input") for the provider whose
 * checked "embedding" object is `shape_text` (its JSON text; NULL: a provider without one,
 * which gets no field OpenAI's API lacks). */
void hvb__embedding_shape_apply(const char *shape_text, json_object *body);

/* Does the model's catalog entry (borrowed, may be NULL) list `arg` in "rejects_args"? */
bool hvb__rejected_args_has(json_object *model_info, const char *arg);

/* Remove from `req` every argument the model's catalog entry (may be NULL) rejects. */
void hvb__rejected_args_drop(json_object *model_info, json_object *req);

/* Where a model takes the reference images of an image request: its catalog entry's
 * "reference_images" (may be NULL). "edits": uploaded as files in a multipart form to the
 * images edits route; "generations": inline in the JSON generations request, as its "image"
 * array of data URLs or URLs. Absent: the model takes none (a request with some is refused,
 * never sent without them). */
typedef enum hvb_refs_route {
  HVB_REFS_NONE,
  HVB_REFS_EDITS,
  HVB_REFS_GENERATIONS,
  HVB_REFS_INVALID /* a value other than those: the caller names the field */
} hvb_refs_route;
hvb_refs_route hvb__reference_images_route(json_object *model_info);

#endif
