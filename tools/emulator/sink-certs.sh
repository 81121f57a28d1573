#!/bin/bash
# sink-certs.sh -- the certificates the benchmark tools serve pyroscope-sink with: a P-256
# ECDSA CA and a server certificate for localhost it issues, made with the openssl CLI.
#
#   usage: sink-certs.sh DIR
# Writes DIR/ca.pem, DIR/srv.pem and DIR/srv.key (for --tls-cert and --tls-key), and
# DIR/bundle.pem: the system bundle plus the CA, for SSL_CERT_FILE, so that the relay
# indexes and verifies as it does in Lambda. Exit 1 when they cannot be made.
set -u
d=${1:?usage: sink-certs.sh DIR}
bundle=/etc/ssl/certs/ca-certificates.crt
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$d/ca.key" \
	-out "$d/ca.pem" -days 2 -subj /CN=sink-certs-ca 2>/dev/null &&
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$d/srv.key" \
	-out "$d/srv.csr" -subj /CN=localhost 2>/dev/null &&
printf 'subjectAltName=DNS:localhost\n' >"$d/srv.ext" &&
openssl x509 -req -in "$d/srv.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial \
	-out "$d/srv.pem" -days 2 -extfile "$d/srv.ext" 2>/dev/null ||
	{ echo "sink-certs: cannot make the test certificates in $d" >&2; exit 1; }
if [ -r "$bundle" ]; then
	cat "$bundle" "$d/ca.pem" >"$d/bundle.pem"
else
	cp "$d/ca.pem" "$d/bundle.pem"
fi
