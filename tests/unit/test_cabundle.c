/* test_cabundle.c -- CA bundle probing: candidate lists on temporary files, SSL_CERT_* honoured. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cabundle.h"
#include "tap.h"

#define NPATHS	8

static char tmp[256];
static char paths[NPATHS][320];

enum { P_MISSING, P_DIR, P_BUNDLE, P_LINK, P_DANGLING, P_UNREADABLE, P_NOSEARCH, P_OTHER };
static const char *const names[NPATHS] = {
	"missing.pem", "adir", "bundle.pem", "link.pem", "dangling.pem", "unreadable.pem",
	"nosearch", "other.pem"
};

static int
make_file(const char *path, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	if (fd < 0)
		return -1;
	if (write(fd, "-----BEGIN CERTIFICATE-----\n", 28) != 28) {
		close(fd);
		return -1;
	}
	if (close(fd) != 0)
		return -1;
	return chmod(path, mode);
}

static int
setup(void)
{
	const char *base = getenv("TMPDIR");
	int n;

	n = snprintf(tmp, sizeof(tmp), "%s/test_cabundle.XXXXXX", base && *base ? base : "/tmp");
	if (n < 0 || (size_t)n >= sizeof(tmp) || mkdtemp(tmp) == NULL)
		return -1;
	for (int i = 0; i < NPATHS; i++) {
		n = snprintf(paths[i], sizeof(paths[i]), "%s/%s", tmp, names[i]);
		if (n < 0 || (size_t)n >= sizeof(paths[i]))
			return -1;
	}
	if (mkdir(paths[P_DIR], 0755) != 0 || mkdir(paths[P_NOSEARCH], 0600) != 0)
		return -1;
	if (make_file(paths[P_BUNDLE], 0644) != 0 || make_file(paths[P_UNREADABLE], 0) != 0 ||
	    make_file(paths[P_OTHER], 0644) != 0)
		return -1;
	if (symlink(paths[P_BUNDLE], paths[P_LINK]) != 0 ||
	    symlink(paths[P_MISSING], paths[P_DANGLING]) != 0)
		return -1;
	return 0;
}

static void
teardown(void)
{
	for (int i = 0; i < NPATHS; i++) {
		if (i == P_DIR || i == P_NOSEARCH)
			rmdir(paths[i]);
		else
			unlink(paths[i]);
	}
	rmdir(tmp);
}

static void
test_lists(void)
{
	const char *const empty[] = { NULL };
	const char *const skip_to_bundle[] = { paths[P_MISSING], paths[P_DIR], paths[P_DANGLING],
	    paths[P_BUNDLE], paths[P_OTHER], NULL };
	const char *const link_first[] = { paths[P_LINK], paths[P_BUNDLE], NULL };
	const char *const none[] = { paths[P_MISSING], paths[P_DIR], paths[P_DANGLING], NULL };
	const char *const unreadable[] = { paths[P_UNREADABLE], paths[P_OTHER], NULL };
	const char *const dirs[] = { paths[P_MISSING], paths[P_BUNDLE], paths[P_LINK], paths[P_DIR], NULL };
	const char *const nodirs[] = { paths[P_BUNDLE], paths[P_DANGLING], NULL };
	const char *const nosearch[] = { paths[P_NOSEARCH], paths[P_DIR], NULL };
	int root = geteuid() == 0;

	ok(cabundle_first_file(NULL) == NULL, "file: no list gives NULL");
	ok(cabundle_first_file(empty) == NULL, "file: empty list gives NULL");
	ok(cabundle_first_file(skip_to_bundle) == paths[P_BUNDLE],
	    "file: missing, directory and dangling link skipped; the first file wins");
	ok(cabundle_first_file(link_first) == paths[P_LINK],
	    "file: a symbolic link to a readable file is taken as it is");
	ok(cabundle_first_file(none) == NULL, "file: nothing usable gives NULL");
	if (root)
		ok(1, "file: an unreadable file is skipped # SKIP running as root, which reads everything");
	else
		ok(cabundle_first_file(unreadable) == paths[P_OTHER], "file: an unreadable file is skipped");

	ok(cabundle_first_dir(NULL) == NULL, "dir: no list gives NULL");
	ok(cabundle_first_dir(dirs) == paths[P_DIR], "dir: files and links to files skipped");
	ok(cabundle_first_dir(nodirs) == NULL, "dir: no directory gives NULL");
	if (root)
		ok(1, "dir: a directory that cannot be searched is skipped # SKIP running as root");
	else
		ok(cabundle_first_dir(nosearch) == paths[P_DIR],
		    "dir: a directory that cannot be searched is skipped");
}

static const char *const known_files[] = {
	"/etc/pki/tls/certs/ca-bundle.crt", "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
	"/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/cacert.pem", "/etc/ssl/cert.pem",
	"/etc/ssl/ca-bundle.pem", NULL
};
static const char *const known_dirs[] = { "/etc/ssl/certs", "/etc/pki/tls/certs", NULL };

static int
in_list(const char *p, const char *const *list)
{
	for (; *list != NULL; list++)
		if (strcmp(p, *list) == 0)
			return 1;
	return 0;
}

static void
test_probe(void)
{
	const char *f, *d;

	unsetenv("SSL_CERT_FILE");
	unsetenv("SSL_CERT_DIR");
	f = cabundle_probe();
	d = cabundle_probe_dir();
	ok(f == NULL || (in_list(f, known_files) && access(f, R_OK) == 0),
	    "probe: NULL or a readable standard bundle");
	ok(d == NULL || in_list(d, known_dirs), "probe_dir: NULL or a standard directory");
	is_str(f, cabundle_first_file(known_files), "probe: the first usable entry in the documented order");
	is_str(d, cabundle_first_dir(known_dirs), "probe_dir: the first usable entry in the documented order");
	printf("# this host: bundle %s, directory %s\n", f ? f : "(none)", d ? d : "(none)");

	setenv("SSL_CERT_FILE", paths[P_BUNDLE], 1);
	ok(cabundle_probe() == NULL, "SSL_CERT_FILE set: probe steps back");
	ok(cabundle_probe_dir() == NULL, "SSL_CERT_FILE set: probe_dir steps back");
	unsetenv("SSL_CERT_FILE");

	setenv("SSL_CERT_DIR", paths[P_DIR], 1);
	ok(cabundle_probe() == NULL, "SSL_CERT_DIR set: probe steps back");
	ok(cabundle_probe_dir() == NULL, "SSL_CERT_DIR set: probe_dir steps back");
	setenv("SSL_CERT_DIR", paths[P_MISSING], 1);
	ok(cabundle_probe() == NULL, "SSL_CERT_DIR set to a missing directory: still the user's choice");

	setenv("SSL_CERT_DIR", "", 1);
	setenv("SSL_CERT_FILE", "", 1);
	ok(cabundle_probe() == f && cabundle_probe_dir() == d, "empty variables count as unset");
	unsetenv("SSL_CERT_FILE");
	unsetenv("SSL_CERT_DIR");
}

int
main(void)
{
	if (setup() != 0) {
		printf("Bail out! cannot create the temporary files under %s\n", tmp);
		return 1;
	}
	test_lists();
	test_probe();
	teardown();
	return done_testing();
}
