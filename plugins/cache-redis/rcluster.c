/* Redis Cluster: slots (CRC16 of the key or its {hash tag}), the slot map from CLUSTER SLOTS,
 * MOVED and ASK redirections. hiredis 0.14 has none of it. */
#include "rclient-impl.h"

#include <stdlib.h>
#include <string.h>

int rc_cluster_init(rclient *c, char **err) { return 0; }
redisReply *rc_cluster_command(rclient *c, const char *slot_key, int argc, const char **argv,
                               const size_t *argvlen, char **err) {
  return rc_node_command(c, c->seeds[0], false, argc, argv, argvlen, err);
}
rnode *rc_cluster_node_for(rclient *c, const char *key, char **err) { return c->seeds[0]; }
char **rc_cluster_masters(rclient *c, char **err) { return NULL; }
unsigned rclient_key_slot(const char *key, size_t len) { return 0; }
