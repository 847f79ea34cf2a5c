#!/usr/bin/env node
// The image's HEALTHCHECK: asks the process this container runs (docker-entrypoint.sh notes which in
// /tmp/nerve-role) what a load balancer would: a control plane its REST /health, a router its admin
// /ready, an engine whether its gRPC port accepts connections. Exit 0 healthy, 1 not.
'use strict';
const fs = require('node:fs');
const net = require('node:net');

const role = (() => {
  try {
    return fs.readFileSync('/tmp/nerve-role', 'utf8').trim();
  } catch {
    return 'control-plane';
  }
})();
const env = process.env;
const fail = () => process.exit(1);
setTimeout(fail, 2500).unref();

function http(port, path) {
  fetch(`http://127.0.0.1:${port}${path}`).then((r) => process.exit(r.status < 500 ? 0 : 1), fail);
}

if (role === 'router') http(env.ROUTER_ADMIN_PORT || 9901, '/ready');
else if (role === 'engine')
  net
    .connect(Number(env.PORT || 7000), '127.0.0.1')
    .on('connect', () => process.exit(0))
    .on('error', fail);
else http(env.API_PORT || 3000, '/api/v1/nerve/health');
