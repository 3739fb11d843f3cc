// SPDX-License-Identifier: GPL-2.0-only
/*
 * The DNS client: UDP first, TCP when the message does not fit 512 bytes
 * (1232 once the server has shown EDNS) or the reply is truncated; one TCP
 * connection kept open across messages (RFC 7766); an EDNS(0) OPT on every
 * message until a server answers FORMERR to it (RFC 6891 7); retries with
 * exponential back-off; every reply matched by ID, opcode and question, and
 * TSIG-verified when we signed.
 *
 * Retrying an UPDATE is safe because presage's updates carry prerequisites
 * (compare-and-set on the mirroring flag): if the first copy was applied and
 * only its reply was lost, the retry fails its prerequisite instead of
 * applying twice, and the read-your-write check tells the caller the truth.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "dns/dns.h"
#include "log.h"

struct dns_client {
	struct sockaddr_storage sa;
	socklen_t salen;
	struct dns_key key;
	bool has_key;
	int timeout_ms;
	int retries;
	int64_t time_offset;
	uint16_t fudge;
	bool tcp_only;
	bool edns;	  /* add an OPT; cleared for good by a FORMERR without OPT */
	uint16_t srv_udp; /* UDP payload size from the server's OPT; 0: not seen yet */
	int udp_fd;
	int tcp_fd; /* kept open across messages (RFC 7766 6.2.1); -1 when closed */
	int last_tsig_error;
	int last_rcode;
	struct dns_client_stats st;
	uint8_t out[DNS_MSG_MAX];
	uint8_t in[DNS_MSG_MAX];
};

struct dns_client *dns_client__new(const struct dns_client_opts *o)
{
	struct dns_client *c;
	struct sockaddr_in *s4;
	struct sockaddr_in6 *s6;
	uint16_t port = o->port ? o->port : 53;

	if (!o->server) {
		errno = EINVAL;
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	s4 = (struct sockaddr_in *)&c->sa;
	s6 = (struct sockaddr_in6 *)&c->sa;
	if (inet_pton(AF_INET, o->server, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		c->salen = sizeof(*s4);
	} else if (inet_pton(AF_INET6, o->server, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		c->salen = sizeof(*s6);
	} else {
		free(c);
		errno = EINVAL;
		return NULL;
	}
	if (o->key) {
		c->key = *o->key;
		c->has_key = true;
	}
	c->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 1000;
	c->retries = o->retries > 0 ? o->retries : (o->retries < 0 ? 0 : 2);
	c->time_offset = o->time_offset;
	c->fudge = o->fudge ? o->fudge : 300;
	c->tcp_only = o->tcp_only;
	c->edns = !o->no_edns;
	c->udp_fd = -1;
	c->tcp_fd = -1;
	return c;
}

void dns_client__free(struct dns_client *c)
{
	if (!c)
		return;
	if (c->udp_fd >= 0)
		close(c->udp_fd);
	if (c->tcp_fd >= 0)
		close(c->tcp_fd);
	/* the TSIG secret should not linger in freed memory */
	memset(&c->key, 0, sizeof(c->key));
	free(c);
}

const struct dns_client_stats *dns_client__stats(const struct dns_client *c)
{
	return &c->st;
}

int dns_client__last_tsig_error(const struct dns_client *c)
{
	return c->last_tsig_error;
}

int dns_client__last_rcode(const struct dns_client *c)
{
	return c->last_rcode;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t tsig_now(const struct dns_client *c)
{
	int64_t t = (int64_t)time(NULL) + c->time_offset;

	return t < 0 ? 0 : (uint64_t)t;
}

/* Wait for @fd to become ready for @events until @deadline; 0, -ETIMEDOUT, or errno. */
static int wait_fd(int fd, short events, int64_t deadline)
{
	for (;;) {
		struct pollfd p = { .fd = fd, .events = events };
		int64_t left = deadline - now_ms();
		int r;

		if (left <= 0)
			return -ETIMEDOUT;
		r = poll(&p, 1, (int)left);
		if (r > 0)
			return 0;
		if (r == 0)
			return -ETIMEDOUT;
		if (errno != EINTR)
			return -errno;
	}
}

static int udp_open(struct dns_client *c)
{
	int fd, err;

	if (c->udp_fd >= 0)
		return 0;
	fd = socket(c->sa.ss_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	/* connect() so the kernel drops datagrams from any other source */
	if (connect(fd, (struct sockaddr *)&c->sa, c->salen) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	c->udp_fd = fd;
	return 0;
}

static void tcp_close(struct dns_client *c)
{
	if (c->tcp_fd >= 0)
		close(c->tcp_fd);
	c->tcp_fd = -1;
}

static int tcp_connect(struct dns_client *c)
{
	int fd, err, one = 1;

	fd = socket(c->sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/* completes in the background; the first write waits for it (POLLOUT) */
	if (connect(fd, (struct sockaddr *)&c->sa, c->salen) < 0 && errno != EINPROGRESS) {
		err = -errno;
		close(fd);
		return err;
	}
	c->tcp_fd = fd;
	c->st.connects++;
	return 0;
}

/*
 * Is the kept connection still usable? Between our exchanges the server has
 * nothing to send, so anything readable is its FIN (idle timeout, RFC 7766
 * 6.2.3), a reset, or bytes we did not ask for: in each case start afresh.
 */
static bool tcp_idle_ok(struct dns_client *c)
{
	struct pollfd p = { .fd = c->tcp_fd, .events = POLLIN | POLLRDHUP };

	return poll(&p, 1, 0) == 0;
}

/*
 * One message and its reply on the open connection: 2-byte length, then the
 * message; the reader is a two-state machine (length prefix, then exactly
 * that many bytes). *got_any tells whether any reply byte arrived.
 */
static int tcp_send_recv(struct dns_client *c, const uint8_t *msg, size_t len, int64_t deadline,
			 size_t *rlen, bool *got_any)
{
	uint8_t lenbuf[2] = { (uint8_t)(len >> 8), (uint8_t)len };
	struct iovec iov[2] = { { lenbuf, 2 }, { (void *)msg, len } };
	size_t got = 0, want = 2, sent = 0;
	int fd = c->tcp_fd, err;

	*got_any = false;
	while (sent < len + 2) {
		struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };
		ssize_t w;

		if ((err = wait_fd(fd, POLLOUT, deadline)))
			return err;
		w = sendmsg(fd, &mh, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			return -errno;
		}
		sent += (size_t)w;
		/* advance the iovecs past what was written */
		for (int i = 0; i < 2; i++) {
			size_t a = (size_t)w < iov[i].iov_len ? (size_t)w : iov[i].iov_len;

			iov[i].iov_base = (uint8_t *)iov[i].iov_base + a;
			iov[i].iov_len -= a;
			w -= (ssize_t)a;
		}
	}
	while (got < want) {
		ssize_t r;

		if ((err = wait_fd(fd, POLLIN, deadline)))
			return err;
		r = read(fd, (want == 2 && got < 2 ? lenbuf : c->in) + (want == 2 ? got : got - 2),
			 want == 2 ? 2 - got : want - got);
		if (r < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			return -ECONNRESET;
		*got_any = true;
		got += (size_t)r;
		if (want == 2 && got == 2) {
			want = 2 + (size_t)(lenbuf[0] << 8 | lenbuf[1]);
			if (want < 2 + DNS_HDR_LEN)
				return -DNS_E_SHORT_HEADER;
		}
	}
	*rlen = want - 2;
	return 0;
}

/*
 * One exchange over TCP on the kept connection, opening one if there is
 * none. If the server closed a connection we reused (its idle timeout, or a
 * restart) before any reply byte came, the message goes once more on a new
 * connection, within the same try. On any other failure the connection is
 * closed: its state is unknown, and a late reply must not be read as the
 * answer to the next message.
 */
static int tcp_exchange(struct dns_client *c, const uint8_t *msg, size_t len, int64_t deadline,
			size_t *rlen)
{
	for (int pass = 0; pass < 2; pass++) {
		bool reused = c->tcp_fd >= 0, got_any;
		int err;

		if (reused && !tcp_idle_ok(c)) {
			pr_debug("dns: server closed the idle TCP connection; reconnecting\n");
			tcp_close(c);
			c->st.reconnects++;
			reused = false;
		}
		if (c->tcp_fd < 0 && (err = tcp_connect(c)))
			return err;
		c->st.tcp_sent++;
		err = tcp_send_recv(c, msg, len, deadline, rlen, &got_any);
		if (!err)
			return 0;
		tcp_close(c);
		if (!reused || got_any ||
		    (err != -ECONNRESET && err != -EPIPE && err != -ENOTCONN))
			return err;
		pr_debug("dns: server closed the TCP connection before answering; reconnecting once\n");
		c->st.reconnects++;
	}
	return -ECONNRESET;
}

/* Does @resp answer @req? Same opcode and, when present, the same question. */
static bool question_matches(const struct dns_msg *req, const struct dns_msg *resp)
{
	if (dns_msg_opcode(req) != dns_msg_opcode(resp))
		return false;
	/* A request with no question (raw bytes that did not parse) has nothing to compare. */
	if (req->n[DNS_SEC_QD] == 0)
		return true;
	/* Some servers send FORMERR/NOTIMP with an empty question section. */
	if (resp->n[DNS_SEC_QD] == 0)
		return dns_msg_rcode(resp) != 0;
	if (resp->n[DNS_SEC_QD] != req->n[DNS_SEC_QD])
		return false;
	for (int i = 0; i < req->n[DNS_SEC_QD]; i++) {
		const struct dns_rr *a = &req->rr[DNS_SEC_QD][i], *b = &resp->rr[DNS_SEC_QD][i];

		if (a->type != b->type || a->class != b->class || !dns_name_equal(&a->name, &b->name))
			return false;
	}
	return true;
}

#define JUDGE_IGNORED 1
#define JUDGE_NO_EDNS 2

/*
 * Judge one reply. Returns JUDGE_IGNORED to keep waiting (reply ignored,
 * *soft set to why), JUDGE_NO_EDNS when the server answered our OPT
 * (@opt_sent) with FORMERR and no OPT of its own, 0 with *resp set for a
 * verified reply, or a final error.
 */
static int judge(struct dns_client *c, const struct dns_msg *req, uint16_t id, size_t rlen,
		 const uint8_t *mac, size_t maclen, bool opt_sent, struct dns_msg **resp, int *soft)
{
	struct dns_opt opt;
	struct dns_msg *m;
	int err, operr;

	err = dns_msg__parse(c->in, rlen, &m);
	if (err) {
		pr_debug("dns: ignoring malformed reply: %s\n", dns_strerror(err));
		*soft = err;
		return 1;
	}
	if (m->id != id) {
		pr_debug("dns: ignoring reply with ID %u, expected %u\n", m->id, id);
		*soft = -DNS_E_ID_MISMATCH;
		goto ignore;
	}
	if (!(m->flags & DNS_F_QR)) {
		*soft = -DNS_E_NOT_RESPONSE;
		goto ignore;
	}
	if (!question_matches(req, m)) {
		*soft = -DNS_E_QUESTION_MISMATCH;
		goto ignore;
	}
	operr = dns_msg__opt(m, &opt);
	if (operr == -DNS_E_OPT_FORMAT) {
		*soft = operr;
		goto ignore;
	}
	c->last_tsig_error = m->has_tsig ? m->tsig.error : 0;
	c->last_rcode = dns_msg__rcode(m);
	/*
	 * RFC 6891 7: a server that does not know EDNS answers FORMERR without
	 * an OPT; the message goes again without one. Checked before TSIG: such
	 * a server may not sign that FORMERR, and all a forged one achieves is
	 * a message without EDNS, whose answer must still verify.
	 */
	if (opt_sent && operr == -ENOENT && dns_msg_rcode(m) == DNS_RCODE_FORMERR) {
		dns_msg__free(m);
		return JUDGE_NO_EDNS;
	}
	if (c->has_key) {
		err = dns_tsig_verify(m, c->in, rlen, &c->key, tsig_now(c), mac, maclen);
		if (err) {
			int rc = dns_err_rcode(err);

			/*
			 * The server told us our signature or key was bad (BADSIG,
			 * BADKEY, BADTIME): final, but the reply is not an answer.
			 */
			if (rc == DNS_RCODE_BADSIG || rc == DNS_RCODE_BADKEY ||
			    rc == DNS_RCODE_BADTIME || rc == DNS_RCODE_BADTRUNC) {
				dns_msg__free(m);
				return err;
			}
			/* Anything else could be forged: wait for the real reply. */
			pr_debug("dns: ignoring unverified reply: %s\n", dns_strerror(err));
			*soft = err;
			goto ignore;
		}
	}
	if (!operr) {
		c->st.edns_replies++;
		/* RFC 6891 6.2.5: values below 512 are treated as 512 */
		c->srv_udp = opt.udp_size < DNS_UDP_MAX ? DNS_UDP_MAX : opt.udp_size;
	}
	*resp = m;
	return 0;
ignore:
	c->st.ignored++;
	dns_msg__free(m);
	return 1;
}

static bool has_opt(const struct dns_msg *m)
{
	for (int i = 0; i < m->n[DNS_SEC_AR]; i++)
		if (m->rr[DNS_SEC_AR][i].type == DNS_T_OPT)
			return true;
	return false;
}

/* Render @req into c->out without its OPT records and without a TSIG. */
static int render_without_opt(struct dns_client *c, const struct dns_msg *req, size_t *len)
{
	struct dns_msg tmp = *req;
	struct dns_rr *ar = NULL;
	int err;

	tmp.has_tsig = false;
	if (req->n[DNS_SEC_AR]) {
		ar = calloc(req->n[DNS_SEC_AR], sizeof(*ar));
		if (!ar)
			return -ENOMEM;
		tmp.n[DNS_SEC_AR] = 0;
		for (int i = 0; i < req->n[DNS_SEC_AR]; i++)
			if (req->rr[DNS_SEC_AR][i].type != DNS_T_OPT)
				ar[tmp.n[DNS_SEC_AR]++] = req->rr[DNS_SEC_AR][i];
		tmp.rr[DNS_SEC_AR] = ar;
	}
	err = dns_msg__render(&tmp, c->out, sizeof(c->out), len);
	free(ar);
	return err;
}

/*
 * Send the @base_len bytes in c->out (unsigned, any ID) and wait for the
 * reply that answers @req, the parsed form of those bytes used for matching.
 * @add_opt: append our OPT (when the client still uses EDNS).
 */
static int exchange(struct dns_client *c, const struct dns_msg *req, size_t base_len, bool add_opt,
		    struct dns_msg **resp)
{
	uint8_t mac[DNS_TSIG_MAC_MAX], hdr[DNS_HDR_LEN];
	size_t len, maclen = 0, rlen = 0;
	bool req_opt = has_opt(req), again = false;
	uint16_t id;
	int err, soft = -ETIMEDOUT;

	*resp = NULL;
	c->last_tsig_error = 0;
	c->last_rcode = -1;
	/* A fresh, unpredictable ID per request makes blind spoofing harder. */
	if (getrandom(&id, sizeof(id), 0) != sizeof(id))
		id = (uint16_t)(now_ms() ^ getpid());
	c->out[0] = (uint8_t)(id >> 8);
	c->out[1] = (uint8_t)id;
	memcpy(hdr, c->out, DNS_HDR_LEN);

	for (int attempt = 0; attempt <= c->retries; attempt++) {
		int64_t deadline = now_ms() + ((int64_t)c->timeout_ms << attempt);
		bool tcp = c->tcp_only, opt = add_opt && c->edns && !req_opt;
		bool opt_sent = opt || (req_opt && c->edns);
		size_t udp_max = DNS_UDP_MAX;
		int j = 0;

		/* the EDNS fallback sends again within the same try */
		if (attempt && !again)
			c->st.retries++;
		again = false;
		len = base_len;
		/* signing bumped ARCOUNT: start again from the unsigned header */
		memcpy(c->out, hdr, DNS_HDR_LEN);
		if (opt && (err = dns_opt_append(c->out, &len, sizeof(c->out), DNS_EDNS_UDP)))
			return err;
		/* Re-sign every try: the time signed must be fresh. */
		if (c->has_key) {
			err = dns_tsig_sign(c->out, &len, sizeof(c->out), &c->key, tsig_now(c),
					    c->fudge, NULL, 0, 0, mac, &maclen);
			if (err)
				return err;
		}
		if (opt_sent)
			c->st.edns_sent++;
		/* a server that has shown its EDNS payload size takes that much over UDP */
		if (opt_sent && c->srv_udp)
			udp_max = c->srv_udp < DNS_EDNS_UDP ? c->srv_udp : DNS_EDNS_UDP;
		if (len > udp_max)
			tcp = true;
		if (!tcp) {
			if ((err = udp_open(c)))
				return err;
			if (send(c->udp_fd, c->out, len, 0) < 0) {
				err = -errno;
				if (err == -ECONNREFUSED) {
					soft = err;
					continue;
				}
				return err;
			}
			c->st.udp_sent++;
			for (;;) {
				ssize_t r;

				if ((err = wait_fd(c->udp_fd, POLLIN, deadline)))
					break;
				r = recv(c->udp_fd, c->in, sizeof(c->in), 0);
				if (r < 0) {
					if (errno == EAGAIN || errno == EINTR)
						continue;
					/* ICMP port unreachable: nobody listens (yet) */
					err = -errno;
					break;
				}
				rlen = (size_t)r;
				j = judge(c, req, id, rlen, mac, maclen, opt_sent, resp, &soft);
				if (j < 0 || j == JUDGE_NO_EDNS)
					break;
				if (j == JUDGE_IGNORED)
					continue;
				if (!((*resp)->flags & DNS_F_TC))
					return dns_err_from_reply(*resp);
				/* truncated: ask again over TCP, same try */
				dns_msg__free(*resp);
				*resp = NULL;
				c->st.tc_fallbacks++;
				tcp = true;
				err = 0;
				break;
			}
			if (j < 0 && err == 0)
				return j;
			if (!tcp && j != JUDGE_NO_EDNS) {
				if (err != -ETIMEDOUT)
					soft = err;
				continue;
			}
		}
		if (tcp) {
			err = tcp_exchange(c, c->out, len, deadline, &rlen);
			if (err) {
				soft = err;
				continue;
			}
			j = judge(c, req, id, rlen, mac, maclen, opt_sent, resp, &soft);
			if (j)
				/* the stream answered with something else: do not trust it further */
				tcp_close(c);
			if (j < 0)
				return j;
			if (j == JUDGE_IGNORED) /* over TCP there is no second reply to wait for */
				continue;
		}
		if (j == JUDGE_NO_EDNS) {
			pr_info("dns: server answered FORMERR to EDNS(0); sending again without it\n");
			c->edns = false;
			c->st.edns_fallbacks++;
			if (req_opt) {
				if ((err = render_without_opt(c, req, &base_len)))
					return err;
				c->out[0] = (uint8_t)(id >> 8);
				c->out[1] = (uint8_t)id;
				memcpy(hdr, c->out, DNS_HDR_LEN);
			}
			again = true;
			attempt--;
			continue;
		}
		if ((*resp)->flags & DNS_F_TC) {
			dns_msg__free(*resp);
			*resp = NULL;
			return -DNS_E_TC_OVER_TCP;
		}
		return dns_err_from_reply(*resp);
	}
	return soft;
}

int dns_client__send(struct dns_client *c, const struct dns_msg *req, struct dns_msg **resp)
{
	size_t len;
	int err;

	*resp = NULL;
	c->last_tsig_error = 0;
	c->last_rcode = -1;
	err = dns_msg__render(req, c->out, sizeof(c->out), &len);
	if (err)
		return err;
	return exchange(c, req, len, true, resp);
}

int dns_client__send_wire(struct dns_client *c, const uint8_t *wire, size_t len,
			  struct dns_msg **resp)
{
	struct dns_msg *req = NULL;
	int err;

	*resp = NULL;
	c->last_tsig_error = 0;
	c->last_rcode = -1;
	if (len < DNS_HDR_LEN)
		return -DNS_E_SHORT_HEADER;
	/* room for the TSIG RR that signing appends */
	if (len > sizeof(c->out) - 512)
		return -DNS_E_TOO_BIG;
	/*
	 * Replies are matched against the request's question. Bytes that do
	 * not parse (the point of this function) are matched by opcode only:
	 * a request without a question section matches any question.
	 */
	if (dns_msg__parse(wire, len, &req)) {
		req = dns_msg__new(0, (wire[2] >> 3) & 0xf);
		if (!req)
			return -ENOMEM;
	}
	memcpy(c->out, wire, len);
	err = exchange(c, req, len, false, resp);
	dns_msg__free(req);
	return err;
}

int dns_client__query(struct dns_client *c, const struct dns_name *name, uint16_t type,
		      struct dns_msg **resp)
{
	struct dns_msg *q = dns_msg__new(0, DNS_OP_QUERY);
	int err;

	*resp = NULL;
	if (!q)
		return -ENOMEM;
	err = dns_msg__add_rr(q, DNS_SEC_QD, name, type, DNS_C_IN, 0, NULL, 0);
	if (!err)
		err = dns_client__send(c, q, resp);
	dns_msg__free(q);
	return err;
}

int dns_client__find_zone(struct dns_client *c, const struct dns_name *name, struct dns_name *zone)
{
	struct dns_msg *r = NULL;
	int err;

	err = dns_client__query(c, name, DNS_T_SOA, &r);
	if (err && err != dns_err_from_rcode(DNS_RCODE_NXDOMAIN)) {
		dns_msg__free(r);
		return err;
	}
	err = -DNS_E_NO_ZONE;
	/* the apex answers with its SOA; a name below it gets the SOA in authority */
	for (int s = DNS_SEC_AN; r && s <= DNS_SEC_NS && err; s++)
		for (int i = 0; i < r->n[s]; i++)
			if (r->rr[s][i].type == DNS_T_SOA &&
			    dns_name_is_subdomain(name, &r->rr[s][i].name)) {
				*zone = r->rr[s][i].name;
				err = 0;
				break;
			}
	dns_msg__free(r);
	return err;
}
