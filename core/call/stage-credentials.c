/* core/call/stage-credentials.c: a call to a provider that needs a key, without one, fails
 * here with HVB_AUTH, before the gateway builds a request and before any connection.
 *
 * Without it the request went out anyway and failed with whatever the network or the
 * provider said ("Could not resolve host", a 401), which names neither the variable to set
 * nor a way to try the tool offline. Whether a key is needed is catalog data (a provider's or
 * gateway server's "requires_key"), decided at resolution (hvb_spec_api_key_required); this
 * stage only enforces it, so chat, streams, async calls, embeddings and images all get it.
 * It runs after the response cache: a reply already cached needs no key to be replayed. */
#include "call/pipeline.h"
#include "config/spec.h"
#include "base/error.h"

#include <stdio.h>
#include <stdlib.h>

static hvb_stage_rc credentials_request(hvb_exchange *x, void **state, hvb_error *err) {
  (void)state;
  const hvb_spec *s = x->spec;
  /* An offline gateway (-g with a provider's preset) answers locally: no key is sent. */
  if (!hvb_spec_api_key_required(s) || hvb_spec_has_api_key(s) || hvb__gateway_offline(x->gw))
    return HVB_STAGE_NEXT;
  const char *env = hvb_spec_api_key_env(s);
  const char *offline = hvb__spec_offline_preset(s);
  char way_out[160] = "";
  if (offline)
    snprintf(way_out, sizeof way_out, ", or try offline with the '%s' preset: hb chat -p %s",
               offline, offline);
  if (!env) {
    hvb__fail(err, HVB_AUTH,
              "provider '%s' (preset '%s') needs an API key: give the 'api_key' or "
              "'api_key_env' option%s",
              hvb_spec_provider(s), hvb_spec_preset(s), way_out);
    return HVB_STAGE_FAILED;
  }
  /* Set but empty is a mistake of its own (an export with nothing after '='). */
  const char *value = secure_getenv(env);
  hvb__fail(err, HVB_AUTH,
            "%s is %s: provider '%s' (preset '%s') needs an API key; "
            "set it: export %s=...%s",
            env, value ? "empty" : "not set", hvb_spec_provider(s), hvb_spec_preset(s), env,
            way_out);
  return HVB_STAGE_FAILED;
}

const hvb_stage hvb__stage_credentials = {.name = "credentials", .request = credentials_request};
