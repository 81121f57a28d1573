/* basicauth.h -- the value of an HTTP Basic credentials header. */
#ifndef RELAY_BASICAUTH_H
#define RELAY_BASICAUTH_H

/*
 * "Basic " + base64(user ":" password), for Authorization or
 * Proxy-Authorization; a NULL password is empty. The caller frees it (and
 * should cleanse it: it is a secret). NULL on OOM.
 */
char	*basic_auth_value(const char *user, const char *password);

#endif
