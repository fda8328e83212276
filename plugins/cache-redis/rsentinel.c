/* Sentinel: the master's address from SENTINEL get-master-addr-by-name, rediscovered after a
 * connection failure or a READONLY/LOADING reply (a failover). */
#include "rclient-impl.h"

#include <stdlib.h>
#include <string.h>

rnode *rc_sentinel_master(rclient *c, char **err) { return NULL; }
void rc_sentinel_forget(rclient *c, rnode *failed) {}
