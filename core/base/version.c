/* core/base/version.c */
#include "base/common.h"
#include <heavenbase/version.h>

HVB_PUBLIC const char *hvb_version(void) { return HVB_VERSION_STRING; }
