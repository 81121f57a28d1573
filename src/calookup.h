/* calookup.h -- trust anchors from PEM bundle files, decoded only when a verification asks for them. */
#ifndef RELAY_CALOOKUP_H
#define RELAY_CALOOKUP_H

#include <openssl/x509_vfy.h>

/*
 * Makes `store` find CA certificates in the PEM bundle at `path` (a file such
 * as /etc/ssl/certs/ca-certificates.crt) without loading the bundle: nothing is
 * read here. At the first issuer lookup of a verification the file is read once
 * and indexed: 16 bytes per certificate, the hash of its subject name's DER
 * bytes and where its PEM block is (only the start of each certificate is
 * decoded for that; the file's bytes are not kept). Each lookup then decodes
 * only the certificates whose subject has the DER bytes of the name asked for,
 * and adds them to the store, which keeps them for the next verifications, as
 * OpenSSL's hashed-directory lookup does. The index is rebuilt when the file
 * changes (device, inode, size or modification time); a missing or unreadable
 * file holds no certificate.
 *
 * Names match by their bytes, as RFC 5280 has CAs encode an issuer name exactly
 * as the issuer's subject, and as Go's crypto/x509 (which the original
 * extension uses) builds chains; OpenSSL's own lookups also match names that
 * are equal once case and spaces are folded.
 *
 * Several files may be added to one store; a path added twice, or a second name
 * of a file already added (same device and inode), is added once. Certificates
 * of "CERTIFICATE", "X509 CERTIFICATE" and "TRUSTED CERTIFICATE" blocks are
 * found; other blocks (CRLs, keys) are skipped. Safe to use from several
 * threads. Returns 0, or -ENOMEM.
 */
int	calookup_add_file(X509_STORE *store, const char *path);

/*
 * Indexes the store's bundle files now, in a thread of its own (once per store;
 * later calls do nothing), so that the first verification finds the index made:
 * for the first connection, whose TCP and TLS handshakes then travel while the
 * bundle is read. A verification that comes meanwhile waits for the index. The
 * thread is joined when the store is freed. Returns 0, or -errno when the thread
 * cannot be started (the first lookup then indexes, as without this call).
 */
int	calookup_prefetch(X509_STORE *store);

#endif
