/* heavenbase/macros.h: compiler attributes used by the public headers, guarded so that the
 * headers compile with any C99 or C++ compiler (the attributes then expand to nothing).
 *
 * HVB_ATTR_PRINTF(f, a)  the function takes a printf format at argument f, its values from a
 * HVB_ATTR_VISIBLE       exported from a shared object built with -fvisibility=hidden
 * HVB_ATTR_HIDDEN        never exported from a shared object
 * HVB_ATTR_DEPRECATED(m) using the declaration warns with message m
 */
#ifndef HEAVENBASE_MACROS_H
#define HEAVENBASE_MACROS_H

#if defined(__GNUC__) || defined(__clang__)
#define HVB_ATTR_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define HVB_ATTR_VISIBLE __attribute__((visibility("default")))
#define HVB_ATTR_HIDDEN __attribute__((visibility("hidden")))
#define HVB_ATTR_DEPRECATED(m) __attribute__((deprecated(m)))
#else
#define HVB_ATTR_PRINTF(f, a)
#define HVB_ATTR_VISIBLE
#define HVB_ATTR_HIDDEN
#define HVB_ATTR_DEPRECATED(m)
#endif

#endif
