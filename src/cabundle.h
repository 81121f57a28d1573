/* cabundle.h -- find the system CA bundle and directory where a static OpenSSL cannot. */
#ifndef RELAY_CABUNDLE_H
#define RELAY_CABUNDLE_H

/*
 * A statically linked OpenSSL only knows the OPENSSLDIR it was built with, which
 * does not exist on the target system. These functions find the system's CA
 * store instead, among the standard paths of Amazon Linux, RHEL/Fedora,
 * Debian/Ubuntu, Alpine and openSUSE. They do no logging and keep no state.
 *
 * When SSL_CERT_FILE or SSL_CERT_DIR is set (to a non-empty value) both probes
 * return NULL: the user chose the store, and OpenSSL's default paths, which read
 * those variables, are then the only ones to use. An empty variable counts as
 * unset.
 */

/* The first existing, readable CA bundle file of the standard list, or NULL. */
const char	*cabundle_probe(void);
/* The first existing, searchable hashed CA directory of the standard list, or NULL. */
const char	*cabundle_probe_dir(void);

/*
 * The first entry of the NULL-terminated `paths` that is a readable regular file
 * (symbolic links followed), or NULL. No environment check. The probes above use
 * it on their built-in list; it is exposed for the tests.
 */
const char	*cabundle_first_file(const char *const *paths);
/* The same for a directory that can be read and searched. */
const char	*cabundle_first_dir(const char *const *paths);

#endif
