/* core/gateway.c: the table of built-in gateways. The plugin loader will search it before
 * the gateway directories, so a built-in name can never be shadowed by a file. */
#include "internal.h"
#include "gateway.h"

#include <glib.h>
#include <string.h>

static const hvb_gateway *const builtins[] = {&hvb__gateway_openai, &hvb__gateway_mock, NULL};

const hvb_gateway *const *hvb__gateway_all(void) {
  return builtins;
}

const hvb_gateway *hvb__gateway_lookup(const char *name) {
  if (!name) return NULL;
  for (size_t i = 0; builtins[i]; i++)
    if (strcmp(builtins[i]->name, name) == 0) return builtins[i];
  return NULL;
}

void hvb__wire_request_clear(hvb_wire_request *wr) {
  if (!wr) return;
  g_free(wr->url);
  g_strfreev(wr->headers);
  g_free(wr->body);
  memset(wr, 0, sizeof *wr);
}
