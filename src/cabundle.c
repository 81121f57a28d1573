/* cabundle.c -- find the system CA bundle and directory where a static OpenSSL cannot. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stddef.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cabundle.h"

/* Most likely first: Amazon Linux is where the Lambda extension runs. */
static const char *const bundle_files[] = {
	"/etc/pki/tls/certs/ca-bundle.crt",			/* Amazon Linux, RHEL, Fedora */
	"/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",	/* the same, as extracted */
	"/etc/ssl/certs/ca-certificates.crt",			/* Debian, Ubuntu */
	"/etc/pki/tls/cacert.pem",				/* older RHEL, Fedora */
	"/etc/ssl/cert.pem",					/* Alpine */
	"/etc/ssl/ca-bundle.pem",				/* openSUSE */
	NULL
};

static const char *const bundle_dirs[] = {
	"/etc/ssl/certs",					/* Debian, Ubuntu, Alpine, openSUSE */
	"/etc/pki/tls/certs",					/* Amazon Linux, RHEL, Fedora */
	NULL
};

static int
env_set(const char *name)
{
	const char *v = getenv(name);

	return v != NULL && *v != '\0';
}

/* The user chose the CA store: OpenSSL's defaults read these variables. */
static int
user_chose_store(void)
{
	return env_set("SSL_CERT_FILE") || env_set("SSL_CERT_DIR");
}

static const char *
first_of(const char *const *paths, mode_t type, int mode)
{
	struct stat st;

	if (paths == NULL)
		return NULL;
	for (; *paths != NULL; paths++) {
		if (stat(*paths, &st) != 0 || (st.st_mode & S_IFMT) != type)
			continue;
		if (access(*paths, mode) == 0)
			return *paths;
	}
	return NULL;
}

const char *
cabundle_first_file(const char *const *paths)
{
	return first_of(paths, S_IFREG, R_OK);
}

const char *
cabundle_first_dir(const char *const *paths)
{
	return first_of(paths, S_IFDIR, R_OK | X_OK);
}

const char *
cabundle_probe(void)
{
	return user_chose_store() ? NULL : cabundle_first_file(bundle_files);
}

const char *
cabundle_probe_dir(void)
{
	return user_chose_store() ? NULL : cabundle_first_dir(bundle_dirs);
}
