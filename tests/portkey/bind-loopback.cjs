// tests/portkey/bind-loopback.cjs: preloaded into the Portkey gateway (node --require) so that
// it listens on 127.0.0.1 only. @hono/node-server calls listen(port, callback), which binds
// every interface; a test peer must never be reachable from the network.
'use strict';
const net = require('net');
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  const first = args[0];
  if (typeof first === 'number' || (typeof first === 'string' && /^\d+$/.test(first))) {
    // listen(port[, host][, backlog][, cb]): put the host in when none was given.
    if (typeof args[1] !== 'string') args.splice(1, args[1] === undefined ? 1 : 0, '127.0.0.1');
  } else if (first && typeof first === 'object' && !first.path) {
    // listen({port, host?}): loopback whatever host was asked for.
    args[0] = { ...first, host: '127.0.0.1' };
  }
  return listen.apply(this, args);
};
