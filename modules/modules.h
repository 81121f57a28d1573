/* modules.h -- the request modules and the chain order. */
#ifndef RELAY_MODULES_H
#define RELAY_MODULES_H

#include "module.h"

extern const struct relay_module mod_session;
extern const struct relay_module mod_labels;
extern const struct relay_module mod_auth;
extern const struct relay_module mod_tenant;
extern const struct relay_module mod_headers;
extern const struct relay_module mod_log;

/* The chain, in order, NULL-terminated. */
extern const struct relay_module *const relay_modules[];

#endif
