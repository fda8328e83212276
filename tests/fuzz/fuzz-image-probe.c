/* tests/fuzz/fuzz-image-probe.c: libFuzzer target for the image header probe and the image
 * constructors over raw bytes.
 *
 * Beyond "no crash and no read past the end" (ASan checks that: the input is copied into a
 * buffer of exactly its size), it checks the contract: a probe that succeeds gives a known
 * format and positive sizes, and one that fails names a status of the documented set. An
 * image made from the same bytes, when it is made, probes the same.
 */
#include <heavenbase/image.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  uint8_t *copy = malloc(size ? size : 1);
  if (!copy) return 0;
  if (size) memcpy(copy, data, size);
  hvb_image_info info;
  hvb_error err = HVB_ERROR_INIT;
  bool ok = hvb_image_probe_bytes(copy, size, &info, &err);
  if (ok) {
    if (!info.format || !info.mime || info.width <= 0 || info.height <= 0) abort();
  } else if (err.status != HVB_PARSE && err.status != HVB_TRUNCATED) {
    abort();
  }
  hvb_error err2 = HVB_ERROR_INIT;
  hvb_image *img = hvb_image_new_bytes(copy, size, NULL, &err2);
  if (img) {
    hvb_image_info again;
    if (!ok || !hvb_image_probe(img, &again, &err2) || again.width != info.width ||
        again.height != info.height || strcmp(again.format, info.format) != 0)
      abort();
    hvb_image_free(img);
  }
  free(copy);
  return 0;
}
