// SPDX-License-Identifier: GPL-2.0-only
/*
 * TLS 1.3 only, both sides present a certificate from the deployment's CA,
 * and the peer's certificate must name the POP the order says it is (its
 * subject CN). Any of these failing ends the connection before a frame.
 */
#include <errno.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "log.h"
#include "mirror/agent.h"

static void log_ssl_errors(const char *what)
{
	unsigned long e;
	char buf[256];

	while ((e = ERR_get_error())) {
		ERR_error_string_n(e, buf, sizeof(buf));
		pr_warn("mirror: %s: %s\n", what, buf);
	}
}

SSL_CTX *mirror_tls_ctx(const struct mirror_agent_cfg *cfg, bool server)
{
	SSL_CTX *ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());

	if (!ctx)
		return NULL;
	if (!SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) ||
	    !SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION))
		goto fail;
	if (SSL_CTX_use_certificate_chain_file(ctx, cfg->cert) != 1) {
		pr_err("mirror: cannot load certificate %s\n", cfg->cert);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, cfg->key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		pr_err("mirror: cannot load key %s or it does not match %s\n", cfg->key, cfg->cert);
		goto fail;
	}
	if (SSL_CTX_load_verify_locations(ctx, cfg->ca, NULL) != 1) {
		pr_err("mirror: cannot load CA %s\n", cfg->ca);
		goto fail;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	SSL_CTX_set_verify_depth(ctx, 4);
	/* Session tickets would let a peer resume without a fresh client
	 * certificate check; agents connect rarely enough not to need them. */
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	if (server)
		SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	return ctx;
fail:
	log_ssl_errors("TLS setup");
	SSL_CTX_free(ctx);
	return NULL;
}

int mirror_tls_peer_name(SSL *ssl, char *name, size_t cap)
{
	X509 *cert = SSL_get1_peer_certificate(ssl);
	int n;

	if (!cert)
		return -MIRROR_EPEER;
	if (SSL_get_verify_result(ssl) != X509_V_OK) {
		X509_free(cert);
		return -MIRROR_EPEER;
	}
	n = X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, name, (int)cap);
	X509_free(cert);
	if (n <= 0 || (size_t)n >= cap || strlen(name) != (size_t)n)
		return -MIRROR_EPEER;
	return 0;
}

void mirror_tls_log_errors(const char *what)
{
	log_ssl_errors(what);
}
