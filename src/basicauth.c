/* basicauth.c -- the value of an HTTP Basic credentials header. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "basicauth.h"

char *
basic_auth_value(const char *user, const char *password)
{
	char *plain = NULL, *out;
	int n = asprintf(&plain, "%s:%s", user, password != NULL ? password : "");

	if (n < 0)
		return NULL;
	out = malloc(6 + 4 * (((size_t)n + 2) / 3) + 1);
	if (out != NULL) {
		memcpy(out, "Basic ", 6);
		EVP_EncodeBlock((unsigned char *)out + 6, (const unsigned char *)plain, n);
	}
	OPENSSL_cleanse(plain, (size_t)n);
	free(plain);
	return out;
}
