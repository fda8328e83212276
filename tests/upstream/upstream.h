/* tests/upstream/upstream.h */
#ifndef HVB_UPSTREAM_H
#define HVB_UPSTREAM_H
#endif
