/* tests/gateways/fixture.h: descriptors built by hand, for the deliberately broken plugins
 * (HVB_GATEWAY_DEFINE always fills the header correctly, which is what a real plugin wants).
 * FIXTURE_DEFINE(name, magic, major, minor, size, caps, ...): `size` is the struct_size the
 * file claims; the operations follow as designated initializers. */
#ifndef HVB_TEST_FIXTURE_H
#define HVB_TEST_FIXTURE_H

#include <heavenbase/gateway.h>

#define FIXTURE_DEFINE(name_, magic_, major_, minor_, size_, caps_, ...)                    \
  static const hvb_gateway_descriptor fixture_descriptor_ = {                             \
      .magic = (magic_),                                                                  \
      .abi_major = (major_),                                                              \
      .abi_minor = (minor_),                                                              \
      .struct_size = (uint32_t)(size_),                                                   \
      .name = #name_,                                                                     \
      .version = "0.1.0",                                                                 \
      .description = "test fixture",                                                      \
      .license = "MIT",                                                                   \
      .caps = (caps_),                                                                    \
      __VA_ARGS__};                                                                       \
  HVB_GATEWAY_EXPORT const hvb_gateway_descriptor *hvb_gateway_query(void);               \
  HVB_GATEWAY_EXPORT const hvb_gateway_descriptor *hvb_gateway_query(void) {              \
    return &fixture_descriptor_;                                                          \
  }

#define FIXTURE_SIZE sizeof(hvb_gateway_descriptor)

#endif
