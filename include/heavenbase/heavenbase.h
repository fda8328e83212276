/* heavenbase/heavenbase.h: the umbrella header of libheavenbase.
 * Link with `pkg-config --cflags --libs heavenbase`. */
#ifndef HEAVENBASE_H
#define HEAVENBASE_H

#include <heavenbase/version.h>
#include <heavenbase/macros.h>
#include <heavenbase/error.h>
#include <heavenbase/log.h>
#include <heavenbase/config.h>
#include <heavenbase/spec.h>
#include <heavenbase/llm.h>
#include <heavenbase/gateway.h>
#include <heavenbase/registry.h>
#include <heavenbase/repair.h>
#include <heavenbase/cache.h>
#include <heavenbase/embed.h>
#include <heavenbase/tools.h>
#include <heavenbase/image.h>
#include <heavenbase/async.h>
#include <heavenbase/session.h>
#include <heavenbase/structured.h>
#include <heavenbase/mcp.h>
#include <heavenbase/usage.h>
#include <heavenbase/cache-backend.h>
#include <heavenbase/observe.h>

#endif
