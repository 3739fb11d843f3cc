// SPDX-License-Identifier: GPL-2.0-only
/*
 * The client against a fake server on 127.0.0.1 that misbehaves on purpose:
 * wrong IDs, bad MACs, unsigned errors, truncation, dropped packets. Real
 * servers never do these on demand, so a responder thread does.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "dns/dns.h"
#include "harness.h"

enum mode {
	M_OK,		/* signed NOERROR */
	M_WRONG_ID,	/* signed, ID + 1 */
	M_SPOOF_THEN_OK, /* a wrong-ID reply, then the real one */
	M_BAD_MAC,	/* MAC bytes flipped */
	M_UNSIGNED,	/* REFUSED with no TSIG */
	M_TC,		/* UDP reply truncated; TCP answers */
	M_DROP_FIRST,	/* ignore the first datagram */
	M_BADTIME,	/* signed NOTAUTH with TSIG error BADTIME */
	M_TCP_KEEP,	/* TCP: keep connections open, but close the one that carries
			 * the 2nd message without answering it */
};

static struct dns_key key;
static int udp_fd, tcp_fd;
static uint16_t port;
static volatile enum mode mode;
static volatile int seen;
static volatile int tcp_seen; /* TCP messages read, over all connections */

/* The reply to @req: the request minus its TSIG, QR set, signed over its MAC. */
static size_t make_reply(const uint8_t *req, size_t len, uint8_t *out, bool tc, int rcode,
			 uint16_t tsig_err, bool sign)
{
	struct dns_msg *m;
	size_t olen;
	uint16_t ar;

	if (dns_msg__parse(req, len, &m) || !m->has_tsig) {
		dns_msg__free(m);
		return 0;
	}
	olen = m->tsig_off;
	memcpy(out, req, olen);
	ar = (uint16_t)((out[10] << 8 | out[11]) - 1);
	out[10] = (uint8_t)(ar >> 8);
	out[11] = (uint8_t)ar;
	out[2] |= 0x80 | (tc ? 0x02 : 0);
	out[3] = (uint8_t)((out[3] & 0xf0) | rcode);
	if (sign)
		dns_tsig_sign(out, &olen, 4096, &key, (uint64_t)time(NULL), 300, m->tsig.mac,
			      m->tsig.mac_len, tsig_err, NULL, NULL);
	dns_msg__free(m);
	return olen;
}

static void *responder(void *arg)
{
	uint8_t req[4096], out[4096];

	for (;;) {
		struct pollfd p[2] = { { udp_fd, POLLIN, 0 }, { tcp_fd, POLLIN, 0 } };
		struct sockaddr_storage from;
		socklen_t fl = sizeof(from);
		ssize_t n;
		size_t olen;

		if (poll(p, 2, -1) <= 0)
			continue;
		if (p[1].revents) {
			int c = accept(tcp_fd, NULL, NULL);
			uint8_t lb[2];

			if (c < 0)
				continue;
			/* one message per connection, or (M_TCP_KEEP) until the client closes */
			while (read(c, lb, 2) == 2) {
				size_t want = (size_t)(lb[0] << 8 | lb[1]), got = 0;

				while (got < want && (n = read(c, req + got, want - got)) > 0)
					got += (size_t)n;
				if (++tcp_seen == 2 && mode == M_TCP_KEEP)
					break;
				olen = make_reply(req, got, out + 2, false, 0, 0, true);
				out[0] = (uint8_t)(olen >> 8);
				out[1] = (uint8_t)olen;
				if (write(c, out, olen + 2) < 0)
					perror("write");
				if (mode != M_TCP_KEEP)
					break;
			}
			close(c);
			continue;
		}
		n = recvfrom(udp_fd, req, sizeof(req), 0, (struct sockaddr *)&from, &fl);
		if (n <= 0)
			continue;
		seen++;
		switch (mode) {
		case M_DROP_FIRST:
			if (seen == 1)
				continue;
			/* fall through */
		case M_OK:
			olen = make_reply(req, (size_t)n, out, false, 0, 0, true);
			break;
		case M_WRONG_ID:
		case M_SPOOF_THEN_OK:
			olen = make_reply(req, (size_t)n, out, false, 0, 0, true);
			out[1] ^= 1;
			sendto(udp_fd, out, olen, 0, (struct sockaddr *)&from, fl);
			if (mode == M_WRONG_ID)
				continue;
			out[1] ^= 1;
			break;
		case M_BAD_MAC:
			olen = make_reply(req, (size_t)n, out, false, 0, 0, true);
			/* the MAC sits 6 bytes (orig ID, error, other len) before the end */
			out[olen - 7] ^= 0xff;
			break;
		case M_UNSIGNED:
			olen = make_reply(req, (size_t)n, out, false, DNS_RCODE_REFUSED, 0, false);
			break;
		case M_TC:
			olen = make_reply(req, (size_t)n, out, true, 0, 0, true);
			break;
		case M_BADTIME:
			olen = make_reply(req, (size_t)n, out, false, DNS_RCODE_NOTAUTH, DNS_RCODE_BADTIME,
					  true);
			break;
		default:
			continue;
		}
		sendto(udp_fd, out, olen, 0, (struct sockaddr *)&from, fl);
	}
	return arg;
}

static int send_one(enum mode md, int timeout_ms, int retries, struct dns_client_stats *st)
{
	struct dns_client_opts o = { .server = "127.0.0.1", .port = port, .key = &key,
				     .timeout_ms = timeout_ms, .retries = retries };
	struct dns_client *c = dns_client__new(&o);
	struct dns_name zone, n;
	struct dns_msg *m, *resp = NULL;
	uint8_t rd[4] = { 192, 0, 2, 1 };
	struct dns_op op = { .kind = DNS_UPD_ADD, .type = DNS_T_A, .ttl = 60, .rdata = rd, .rdlen = 4 };
	int err;

	mode = md;
	seen = 0;
	dns_name_from_text(&zone, "example.test");
	dns_name_from_text(&n, "a.example.test");
	op.name = n;
	m = dns_update__new(0, &zone);
	dns_update__add_op(m, &op);
	err = dns_client__send(c, m, &resp);
	if (st)
		*st = *dns_client__stats(c);
	if (err)
		ASSERT_TRUE(resp == NULL || dns_err_rcode(err) >= 0, "no answer on a verification error");
	dns_msg__free(resp);
	dns_msg__free(m);
	dns_client__free(c);
	return err;
}

static void test_client_ok(void)
{
	ASSERT_EQ(send_one(M_OK, 300, -1, NULL), 0, "signed reply accepted");
}

static void test_client_wrong_id_rejected(void)
{
	struct dns_client_stats st;

	ASSERT_EQ(send_one(M_WRONG_ID, 150, -1, &st), -DNS_E_ID_MISMATCH, "only wrong IDs arrive");
	ASSERT_EQ(st.ignored, 1, "the reply was ignored");
}

static void test_client_spoof_then_real(void)
{
	struct dns_client_stats st;

	ASSERT_EQ(send_one(M_SPOOF_THEN_OK, 300, -1, &st), 0, "real reply after a spoof");
	ASSERT_EQ(st.ignored, 1, "spoof ignored");
}

static void test_client_bad_mac_rejected(void)
{
	ASSERT_EQ(send_one(M_BAD_MAC, 150, -1, NULL), -DNS_E_TSIG_BADSIG, "bad MAC never an answer");
}

static void test_client_unsigned_error_rejected(void)
{
	ASSERT_EQ(send_one(M_UNSIGNED, 150, -1, NULL), -DNS_E_TSIG_UNSIGNED,
		  "unsigned REFUSED is unverified, not REFUSED");
}

static void test_client_tc_falls_back_to_tcp(void)
{
	struct dns_client_stats st;

	ASSERT_EQ(send_one(M_TC, 300, -1, &st), 0, "answer over TCP");
	ASSERT_EQ(st.tc_fallbacks, 1, "one TC fallback");
	ASSERT_EQ(st.tcp_sent, 1, "one TCP exchange");
}

/* N signed updates over TCP through one client; its counters in *st. */
static int send_tcp(enum mode md, int n, struct dns_client_stats *st)
{
	struct dns_client_opts o = { .server = "127.0.0.1", .port = port, .key = &key,
				     .timeout_ms = 1000, .retries = -1, .tcp_only = true };
	struct dns_client *c = dns_client__new(&o);
	uint8_t rd[4] = { 192, 0, 2, 1 };
	struct dns_op op = { .kind = DNS_UPD_ADD, .type = DNS_T_A, .ttl = 60, .rdata = rd, .rdlen = 4 };
	struct dns_name zone;
	int err = 0;

	mode = md;
	tcp_seen = 0;
	dns_name_from_text(&zone, "example.test");
	dns_name_from_text(&op.name, "a.example.test");
	for (int i = 0; i < n && !err; i++) {
		struct dns_msg *m = dns_update__new(0, &zone), *resp = NULL;

		dns_update__add_op(m, &op);
		err = dns_client__send(c, m, &resp);
		dns_msg__free(resp);
		dns_msg__free(m);
	}
	*st = *dns_client__stats(c);
	dns_client__free(c);
	return err;
}

static void test_client_tcp_reconnect_after_close(void)
{
	struct dns_client_stats st;

	/* the server closes after each answer: seen before the next write, or on it */
	ASSERT_EQ(send_tcp(M_OK, 2, &st), 0, "both answered");
	ASSERT_EQ(st.connects, 2, "a new connection for the second message");
	ASSERT_EQ(st.reconnects, 1, "counted as a reconnect");
	ASSERT_EQ(st.retries, 0, "not a retry");
}

static void test_client_tcp_closed_before_answer(void)
{
	struct dns_client_stats st;

	/*
	 * The connection is kept; the server takes the 2nd message and closes
	 * without answering: it goes once more on a new connection, where the
	 * 3rd follows it.
	 */
	ASSERT_EQ(send_tcp(M_TCP_KEEP, 3, &st), 0, "all three answered");
	ASSERT_EQ(st.connects, 2, "two connections for three messages");
	ASSERT_EQ(st.reconnects, 1, "one reconnect");
	ASSERT_EQ(st.tcp_sent, 4, "the 2nd message sent twice");
	ASSERT_EQ(st.retries, 0, "within the same try");
	ASSERT_EQ(tcp_seen, 4, "the server read four messages");
}

static void test_client_retry_backoff(void)
{
	struct dns_client_stats st;
	struct timespec a, b;
	long ms;

	clock_gettime(CLOCK_MONOTONIC, &a);
	ASSERT_EQ(send_one(M_DROP_FIRST, 100, 2, &st), 0, "second try answered");
	clock_gettime(CLOCK_MONOTONIC, &b);
	ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
	ASSERT_EQ(st.retries, 1, "one retry");
	ASSERT_EQ(st.udp_sent, 2, "two datagrams");
	ASSERT_TRUE(ms >= 100, "waited the first timeout");
}

static void test_client_server_badtime(void)
{
	ASSERT_EQ(send_one(M_BADTIME, 300, -1, NULL), dns_err_from_rcode(DNS_RCODE_BADTIME),
		  "server BADTIME reaches the caller");
}

static void test_client_timeout(void)
{
	struct dns_client_opts o = { .server = "127.0.0.1", .port = port, .key = &key,
				     .timeout_ms = 50, .retries = 1 };
	struct dns_client *c;
	struct dns_name n;
	struct dns_msg *resp = NULL;
	struct timespec a, b;
	long ms;

	/* no one answers queries on the TCP-only mode below: use a closed UDP port */
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);

	bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	getsockname(fd, (struct sockaddr *)&sa, &sl);
	o.port = ntohs(sa.sin_port);
	c = dns_client__new(&o);
	dns_name_from_text(&n, "example.test");
	clock_gettime(CLOCK_MONOTONIC, &a);
	ASSERT_EQ(dns_client__query(c, &n, DNS_T_SOA, &resp), -ETIMEDOUT, "silent server");
	clock_gettime(CLOCK_MONOTONIC, &b);
	ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
	/*
	 * 50 ms, then 100 ms: back-off doubles. Deadlines are set in whole
	 * milliseconds, so each try may end up to 1 ms early (it measured 149).
	 * The upper bound only tells the options apart from the default (1000 ms,
	 * then 2000 ms), so a loaded machine does not fail it.
	 */
	ASSERT_TRUE(ms >= 148 && ms < 2900, "50 + 100 ms of back-off");
	ASSERT_EQ(dns_client__stats(c)->retries, 1, "one retry");
	dns_client__free(c);
	close(fd);
}

int main(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);
	pthread_t th;
	int one = 1;

	dns_key_init(&key, "presage-key", "hmac-sha256", "c2VjcmV0c2VjcmV0c2VjcmV0");
	udp_fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (bind(udp_fd, (struct sockaddr *)&sa, sizeof(sa)) || getsockname(udp_fd, (struct sockaddr *)&sa, &sl)) {
		perror("bind");
		return 1;
	}
	port = ntohs(sa.sin_port);
	/* TCP on the same port for the truncation fallback */
	tcp_fd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(tcp_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(tcp_fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(tcp_fd, 8)) {
		printf("SKIP: t-dns-client: TCP port %u busy\n", port);
		return 77;
	}
	pthread_create(&th, NULL, responder, NULL);
	pthread_detach(th);
	RUN(test_client_ok);
	RUN(test_client_wrong_id_rejected);
	RUN(test_client_spoof_then_real);
	RUN(test_client_bad_mac_rejected);
	RUN(test_client_unsigned_error_rejected);
	RUN(test_client_tc_falls_back_to_tcp);
	RUN(test_client_tcp_reconnect_after_close);
	RUN(test_client_tcp_closed_before_answer);
	RUN(test_client_retry_backoff);
	RUN(test_client_server_badtime);
	RUN(test_client_timeout);
	return harness_exit();
}
