// SPDX-License-Identifier: GPL-2.0-only
/*
 * Active ICMP echo probes per interconnect: one thread, raw sockets bound to
 * each interconnect, kernel time stamps. The design (why raw sockets, which
 * time stamps, what counts as lost) is in probe.h.
 */
#include <endian.h>
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/errqueue.h>
#include <linux/net_tstamp.h>
#include <net/if.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/socket.h>

#include "log.h"
#include "probe.h"

/* From linux/icmp.h, which cannot be included beside netinet/ip_icmp.h. */
#ifndef ICMP_FILTER
#define ICMP_FILTER 1
#endif
#ifndef SO_BINDTOIFINDEX
#define SO_BINDTOIFINDEX 62
#endif

enum { FAM4 = 0, FAM6 = 1, NFAM = 2 };

/* epoll tags: kind in the top byte, link index and family below. */
enum { EV_STOP = 1, EV_RX = 2, EV_TXERR = 3 };
#define EV_TAG(kind, link, fam) (((uint64_t)(kind) << 56) | ((uint64_t)(link) << 8) | (fam))

enum slot_state { SLOT_FREE = 0, SLOT_INFLIGHT };

/* Probes per target sent back to back after the thread was held up. */
#define PROBE_CATCH_UP 4

struct probe_slot {
	uint32_t seq;
	uint8_t state;
	bool send_failed;	/* never left: interface missing or down */
	bool tx_kernel;		/* tx_ts is the kernel's */
	uint32_t tskey;		/* SOF_TIMESTAMPING_OPT_ID key of the send */
	uint32_t sock_gen;	/* which incarnation of the send socket sent it */
	uint64_t deadline_mono;
	uint64_t sent_real;	/* CLOCK_REALTIME just before sendmsg: fallback tx */
	uint64_t tx_ts;		/* CLOCK_REALTIME ns */
};

struct ptarget {
	int fam;
	union {
		struct sockaddr_in v4;
		struct sockaddr_in6 v6;
	} sa;
	const char *text;
	uint32_t next_seq, oldest_seq;	/* slots in flight are oldest_seq .. next_seq-1 */
	uint64_t nominal_mono, next_send_mono;
	uint32_t nslots;
	struct probe_slot *slots;
};

struct psock {
	int fd;			/* -1: closed */
	int ifindex;		/* what it is bound to */
	uint32_t next_key;	/* OPT_ID key the next send gets */
	uint32_t gen;
	bool resync;		/* keys out of step: reopen before the next send */
};

struct plink {
	char name[CFG_NAME_MAX];
	char ifname[IF_NAMESIZE];
	int ntargets;
	struct ptarget targets[CFG_MAX_PROBES];
	struct psock sock[NFAM];
	bool failing;		/* logged that sends fail */
	/* This tick, under prober.lock. */
	uint64_t sent, lost, replies;
	double *rtt;
	size_t nrtt, cap;
};

struct prober {
	pthread_mutex_t lock;
	pthread_t thread;
	bool thread_started;
	int epfd, evfd;
	int rxfd[NFAM];
	uint64_t cookie;
	uint16_t ident;
	uint64_t interval_ns, timeout_ns;
	int nlinks;
	struct plink *links;
	/* For the summary on stop; only the thread writes them. */
	uint64_t late, foreign, malformed, tx_user, rx_user, skipped, send_errors, local_drops;
};

static uint64_t clock_ns(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static uint64_t rand_u64(void)
{
	uint64_t v = 0;

	if (getrandom(&v, sizeof(v), GRND_NONBLOCK) != sizeof(v))
		v = clock_ns(CLOCK_REALTIME) ^ ((uint64_t)getpid() << 32);
	return v;
}

/* ---- pure helpers ---- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

void probe_rtt_stats(double *ms, size_t n, struct probe_rtt_stats *out)
{
	double sum = 0;
	size_t rank;

	if (!n) {
		out->min_ms = out->avg_ms = out->p90_ms = out->max_ms = NAN;
		return;
	}
	qsort(ms, n, sizeof(*ms), cmp_double);
	for (size_t i = 0; i < n; i++)
		sum += ms[i];
	/* Nearest rank: ceil(0.9 n), computed in integers so 0.9 * 10 is 9, not 9.000001. */
	rank = (9 * n + 9) / 10;
	out->min_ms = ms[0];
	out->max_ms = ms[n - 1];
	out->avg_ms = sum / (double)n;
	out->p90_ms = ms[rank - 1];
}

static uint16_t inet_csum(const void *data, size_t len)
{
	const uint8_t *p = data;
	uint32_t sum = 0;

	for (; len > 1; p += 2, len -= 2)
		sum += (uint32_t)p[0] << 8 | p[1];
	if (len)
		sum += (uint32_t)p[0] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons((uint16_t)~sum);
}

size_t probe_build_request(int family, void *buf, size_t buflen, uint16_t ident, uint64_t cookie,
			   const struct probe_id *id)
{
	/* ICMP and ICMPv6 echo share the layout: type, code, checksum, id, seq. */
	struct icmphdr *h = buf;
	struct probe_payload *pl = (struct probe_payload *)((uint8_t *)buf + sizeof(*h));
	size_t len = sizeof(*h) + sizeof(*pl);

	if (buflen < len)
		return 0;
	memset(buf, 0, len);
	h->type = family == AF_INET ? ICMP_ECHO : ICMP6_ECHO_REQUEST;
	h->un.echo.id = htons(ident);
	h->un.echo.sequence = htons((uint16_t)id->seq);
	pl->cookie = htobe64(cookie);
	pl->link = htons(id->link);
	pl->target = htons(id->target);
	pl->seq = htonl(id->seq);
	/* The kernel fills the ICMPv6 checksum (it covers the pseudo-header). */
	if (family == AF_INET)
		h->checksum = inet_csum(buf, len);
	return len;
}

int probe_parse_reply(int family, const void *buf, size_t len, uint16_t ident, uint64_t cookie,
		      struct probe_id *id)
{
	const uint8_t *p = buf;
	const struct icmphdr *h;
	struct probe_payload pl;
	size_t off = 0;

	if (family == AF_INET) {
		const struct iphdr *ip = buf;
		size_t ihl;

		if (len < sizeof(*ip))
			return PROBE_ERR_SHORT;
		ihl = (size_t)ip->ihl * 4;
		if (ip->version != 4 || ihl < sizeof(*ip) || ihl > len)
			return PROBE_ERR_SHORT;
		off = ihl;
	}
	if (len - off < sizeof(*h))
		return PROBE_ERR_SHORT;
	h = (const struct icmphdr *)(p + off);
	if (family == AF_INET ? h->type != ICMP_ECHOREPLY : h->type != ICMP6_ECHO_REPLY)
		return PROBE_ERR_NOT_REPLY;
	if (h->code)
		return PROBE_ERR_NOT_REPLY;
	if (ntohs(h->un.echo.id) != ident)
		return PROBE_ERR_FOREIGN;
	if (len - off < sizeof(*h) + sizeof(pl))
		return PROBE_ERR_SHORT;
	/* Raw IPv4 sockets get the datagram before icmp_rcv checks it. */
	if (family == AF_INET && inet_csum(p + off, len - off) != 0)
		return PROBE_ERR_CSUM;
	memcpy(&pl, p + off + sizeof(*h), sizeof(pl));
	if (be64toh(pl.cookie) != cookie)
		return PROBE_ERR_FOREIGN;
	id->link = ntohs(pl.link);
	id->target = ntohs(pl.target);
	id->seq = ntohl(pl.seq);
	if ((uint16_t)id->seq != ntohs(h->un.echo.sequence))
		return PROBE_ERR_FOREIGN;
	return 0;
}

/* ---- sockets ---- */

static int fam_af(int fam)
{
	return fam == FAM4 ? AF_INET : AF_INET6;
}

static const char *fam_name(int fam)
{
	return fam == FAM4 ? "IPv4" : "IPv6";
}

/* A raw ICMP socket letting only echo replies in (or nothing, @pass false). */
static int open_raw(int fam, bool pass_replies)
{
	int fd, err;

	fd = socket(fam_af(fam), SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    fam == FAM4 ? IPPROTO_ICMP : IPPROTO_ICMPV6);
	if (fd < 0)
		return -errno;
	if (fam == FAM4) {
		/* ICMP_FILTER: a set bit drops that type (0..31). */
		uint32_t flt = pass_replies ? ~(1U << ICMP_ECHOREPLY) : ~0U;

		err = setsockopt(fd, SOL_RAW, ICMP_FILTER, &flt, sizeof(flt));
	} else {
		struct icmp6_filter flt;

		ICMP6_FILTER_SETBLOCKALL(&flt);
		if (pass_replies)
			ICMP6_FILTER_SETPASS(ICMP6_ECHO_REPLY, &flt);
		err = setsockopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, &flt, sizeof(flt));
	}
	if (err) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

static void sock_close(struct prober *p, struct psock *s)
{
	if (s->fd < 0)
		return;
	epoll_ctl(p->epfd, EPOLL_CTL_DEL, s->fd, NULL);
	close(s->fd);
	s->fd = -1;
	s->ifindex = 0;
}

/* (Re)open link @li's send socket for @fam, bound to @ifindex. 0 or -errno. */
static int sock_open(struct prober *p, int li, int fam, int ifindex)
{
	struct psock *s = &p->links[li].sock[fam];
	int fd, err, flags = SOF_TIMESTAMPING_TX_SCHED | SOF_TIMESTAMPING_SOFTWARE |
			     SOF_TIMESTAMPING_OPT_ID | SOF_TIMESTAMPING_OPT_TSONLY;
	struct epoll_event ev = { .events = EPOLLERR, .data.u64 = EV_TAG(EV_TXERR, li, fam) };

	sock_close(p, s);
	fd = open_raw(fam, false);
	if (fd < 0)
		return fd;
	if (setsockopt(fd, SOL_SOCKET, SO_BINDTOIFINDEX, &ifindex, sizeof(ifindex)) ||
	    setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPING, &flags, sizeof(flags)) ||
	    epoll_ctl(p->epfd, EPOLL_CTL_ADD, fd, &ev)) {
		err = -errno;
		close(fd);
		return err;
	}
	s->fd = fd;
	s->ifindex = ifindex;
	s->next_key = 0;	/* OPT_ID keys of a new socket start at 0 */
	s->resync = false;
	s->gen++;
	return 0;
}

/* ---- per-tick accounting (callers hold no lock) ---- */

static void account(struct prober *p, struct plink *l, int sent, int lost, const double *rtt_ms)
{
	pthread_mutex_lock(&p->lock);
	l->sent += sent;
	l->lost += lost;
	if (rtt_ms) {
		if (l->nrtt == l->cap) {
			size_t cap = l->cap ? l->cap * 2 : 64;
			double *n = realloc(l->rtt, cap * sizeof(*n));

			if (!n) {
				/* Keep the count honest; the sample alone is dropped. */
				l->replies++;
				pthread_mutex_unlock(&p->lock);
				pr_warn("probe: out of memory keeping RTT samples of %s", l->name);
				return;
			}
			l->rtt = n;
			l->cap = cap;
		}
		l->rtt[l->nrtt++] = *rtt_ms;
		l->replies++;
	}
	pthread_mutex_unlock(&p->lock);
}

void prober_collect(struct prober *p, int link_idx, struct health_sample *s)
{
	struct probe_rtt_stats st;
	struct plink *l;

	if (!p || link_idx < 0 || link_idx >= p->nlinks || !p->links[link_idx].ntargets) {
		s->probes_configured = false;
		return;
	}
	l = &p->links[link_idx];
	pthread_mutex_lock(&p->lock);
	s->probes_configured = true;
	s->probe_sent = l->sent;
	s->probe_lost = l->lost;
	s->probe_replies = l->replies;
	probe_rtt_stats(l->rtt, l->nrtt, &st);
	l->sent = l->lost = l->replies = 0;
	l->nrtt = 0;
	pthread_mutex_unlock(&p->lock);
	s->probe_loss = s->probe_lost + s->probe_replies
				? (double)s->probe_lost / (double)(s->probe_lost + s->probe_replies)
				: NAN;
	s->probe_rtt_min_ms = st.min_ms;
	s->probe_rtt_avg_ms = st.avg_ms;
	s->probe_rtt_p90_ms = st.p90_ms;
	s->probe_rtt_max_ms = st.max_ms;
}

/* ---- the thread ---- */

static struct probe_slot *slot_of(struct ptarget *t, uint32_t seq)
{
	return &t->slots[seq % t->nslots];
}

/* Settle every probe of @t whose deadline is at or before @now as lost. */
static void expire_target(struct prober *p, struct plink *l, struct ptarget *t, uint64_t now)
{
	int lost = 0;

	for (; t->oldest_seq != t->next_seq; t->oldest_seq++) {
		struct probe_slot *sl = slot_of(t, t->oldest_seq);

		if (sl->state == SLOT_INFLIGHT && sl->seq == t->oldest_seq) {
			if (sl->deadline_mono > now)
				break;
			sl->state = SLOT_FREE;
			lost++;
		}
	}
	if (lost)
		account(p, l, 0, lost, NULL);
}

static void send_failed(struct prober *p, struct plink *l, int fam, int err)
{
	p->send_errors++;
	if (!l->failing) {
		l->failing = true;
		pr_warn("probe: interconnect %s: cannot send %s probes out of %s: %s; they count as "
			"lost until the interface is back and up with a route to the target",
			l->name, fam_name(fam), l->ifname, strerror(-err));
	}
}

static void send_probe(struct prober *p, int li, int ti, uint64_t now)
{
	struct plink *l = &p->links[li];
	struct ptarget *t = &l->targets[ti];
	struct psock *s = &l->sock[t->fam];
	struct probe_id id = { .link = li, .target = ti, .seq = t->next_seq };
	struct probe_slot *sl = slot_of(t, t->next_seq);
	uint8_t buf[sizeof(struct icmphdr) + sizeof(struct probe_payload)];
	size_t len;
	int ifindex, err = 0;
	ssize_t n;

	/* A slot still in flight a whole ring later can only follow a clock stall. */
	if (sl->state == SLOT_INFLIGHT) {
		sl->state = SLOT_FREE;
		account(p, l, 0, 1, NULL);
	}
	memset(sl, 0, sizeof(*sl));
	sl->seq = t->next_seq++;
	sl->state = SLOT_INFLIGHT;
	sl->deadline_mono = now + p->timeout_ns;

	/* The interface by name, every time: it may have come back with a new ifindex. */
	ifindex = (int)if_nametoindex(l->ifname);
	if (!ifindex) {
		err = -ENODEV;
		sock_close(p, s);
	} else if (s->fd < 0 || s->ifindex != ifindex || s->resync) {
		err = sock_open(p, li, t->fam, ifindex);
	}
	if (!err) {
		len = probe_build_request(fam_af(t->fam), buf, sizeof(buf), p->ident, p->cookie, &id);
		if (t->fam == FAM6 && IN6_IS_ADDR_LINKLOCAL(&t->sa.v6.sin6_addr))
			t->sa.v6.sin6_scope_id = (uint32_t)ifindex;
		sl->sent_real = clock_ns(CLOCK_REALTIME);
		n = sendto(s->fd, buf, len, 0, (struct sockaddr *)&t->sa,
			   t->fam == FAM4 ? sizeof(t->sa.v4) : sizeof(t->sa.v6));
		if (n < 0 && errno == ENOBUFS) {
			/* Dropped on the way out by the qdisc or a tc program (NET_XMIT_DROP):
			 * the probe was built, and got its key, but will not leave. That is
			 * loss on this interconnect, not a broken link: no log, lost at
			 * the deadline. */
			sl->tskey = s->next_key++;
			sl->sock_gen = s->gen;
			p->local_drops++;
		} else if (n < 0) {
			err = -errno;
			/* The OPT_ID counter may have moved; a new socket restarts it at 0. */
			sock_close(p, s);
		} else {
			sl->tskey = s->next_key++;
			sl->sock_gen = s->gen;
		}
	}
	if (err) {
		sl->send_failed = true;
		send_failed(p, l, t->fam, err);
	} else if (l->failing) {
		l->failing = false;
		pr_info("probe: interconnect %s: probes out of %s are being sent again", l->name,
			l->ifname);
	}
	account(p, l, 1, 0, NULL);
}

static uint64_t ts_ns(const struct timespec *ts)
{
	return (uint64_t)ts->tv_sec * 1000000000ULL + (uint64_t)ts->tv_nsec;
}

/* Read TX time stamps from link @li's @fam send socket's error queue. */
static void drain_errqueue(struct prober *p, int li, int fam)
{
	struct plink *l = &p->links[li];
	struct psock *s = &l->sock[fam];
	char ctrl[512];

	while (s->fd >= 0) {
		struct msghdr msg = { .msg_control = ctrl, .msg_controllen = sizeof(ctrl) };
		struct scm_timestamping *tss = NULL;
		struct sock_extended_err *ee = NULL;
		uint64_t ts;

		if (recvmsg(s->fd, &msg, MSG_ERRQUEUE | MSG_DONTWAIT) < 0)
			break;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
			if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPING)
				tss = (struct scm_timestamping *)CMSG_DATA(c);
			else if ((c->cmsg_level == SOL_IP && c->cmsg_type == IP_RECVERR) ||
				 (c->cmsg_level == SOL_IPV6 && c->cmsg_type == IPV6_RECVERR))
				ee = (struct sock_extended_err *)CMSG_DATA(c);
		}
		if (!tss || !ee || ee->ee_origin != SO_EE_ORIGIN_TIMESTAMPING ||
		    ee->ee_info != SCM_TSTAMP_SCHED)
			continue;
		ts = ts_ns(&tss->ts[0]);
		if (!ts)
			continue;
		for (int ti = 0; ti < l->ntargets; ti++) {
			struct ptarget *t = &l->targets[ti];

			if (t->fam != fam)
				continue;
			for (uint32_t q = t->oldest_seq; q != t->next_seq; q++) {
				struct probe_slot *sl = slot_of(t, q);

				if (sl->state != SLOT_INFLIGHT || sl->seq != q || sl->send_failed ||
				    sl->tx_kernel || sl->sock_gen != s->gen || sl->tskey != ee->ee_data)
					continue;
				/* Same clock as sent_real, taken after it: anything else is
				 * a stale key, and the user-space time is kept. */
				if (ts >= sl->sent_real && ts - sl->sent_real < p->timeout_ns) {
					sl->tx_ts = ts;
					sl->tx_kernel = true;
				}
				goto next;
			}
		}
next:;
	}
}

static bool addr_matches(const struct ptarget *t, const void *from, socklen_t fromlen)
{
	if (t->fam == FAM4) {
		const struct sockaddr_in *a = from;

		return fromlen >= sizeof(*a) && a->sin_addr.s_addr == t->sa.v4.sin_addr.s_addr;
	} else {
		const struct sockaddr_in6 *a = from;

		return fromlen >= sizeof(*a) &&
		       !memcmp(&a->sin6_addr, &t->sa.v6.sin6_addr, sizeof(a->sin6_addr));
	}
}

static void handle_reply(struct prober *p, int fam, const uint8_t *buf, size_t len,
			 const struct sockaddr_storage *from, socklen_t fromlen, uint64_t rx_ts)
{
	struct probe_id id;
	struct plink *l;
	struct ptarget *t;
	struct probe_slot *sl;
	uint64_t tx;
	double ms;
	int err;

	err = probe_parse_reply(fam_af(fam), buf, len, p->ident, p->cookie, &id);
	if (err == PROBE_ERR_FOREIGN || err == PROBE_ERR_NOT_REPLY) {
		p->foreign++;
		return;
	}
	if (err) {
		p->malformed++;
		return;
	}
	if (id.link >= p->nlinks || id.target >= p->links[id.link].ntargets) {
		p->malformed++;
		return;
	}
	l = &p->links[id.link];
	t = &l->targets[id.target];
	if (t->fam != fam || !addr_matches(t, from, fromlen)) {
		p->foreign++;
		return;
	}
	sl = slot_of(t, id.seq);
	if (sl->state != SLOT_INFLIGHT || sl->seq != id.seq) {
		/* Settled already: its deadline passed (or a duplicate). */
		p->late++;
		pr_debug("probe: %s: late reply from %s (seq %u), discarded", l->name, t->text,
			 id.seq);
		return;
	}
	if (!sl->tx_kernel)
		drain_errqueue(p, id.link, fam);	/* its TX stamp may be queued behind */
	if (!sl->tx_kernel) {
		p->tx_user++;
		/* Sent, replied, but no TX stamp of its own: if the socket's keys went
		 * out of step with ours (a send that failed after taking a key), every
		 * later probe would miss too. A fresh socket starts both at 0. */
		if (!sl->send_failed && sl->sock_gen == l->sock[fam].gen)
			l->sock[fam].resync = true;
	}
	tx = sl->tx_kernel ? sl->tx_ts : sl->sent_real;
	sl->state = SLOT_FREE;
	if (rx_ts < tx || rx_ts - tx > p->timeout_ns) {
		/* Read in time, but it took longer than the timeout: late, so lost. */
		p->late++;
		pr_debug("probe: %s: reply from %s (seq %u) after %.3f ms > timeout, counted lost",
			 l->name, t->text, id.seq, rx_ts >= tx ? (double)(rx_ts - tx) / 1e6 : -1.0);
		account(p, l, 0, 1, NULL);
		return;
	}
	ms = (double)(rx_ts - tx) / 1e6;
	account(p, l, 0, 0, &ms);
}

static void drain_rx(struct prober *p, int fam)
{
	uint8_t buf[512];
	char ctrl[512];

	for (;;) {
		struct sockaddr_storage from;
		struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
		struct msghdr msg = { .msg_name = &from, .msg_namelen = sizeof(from),
				      .msg_iov = &iov, .msg_iovlen = 1,
				      .msg_control = ctrl, .msg_controllen = sizeof(ctrl) };
		uint64_t rx_ts = 0;
		ssize_t n;

		n = recvmsg(p->rxfd[fam], &msg, MSG_DONTWAIT);
		if (n < 0)
			break;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
			if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPING)
				rx_ts = ts_ns(&((struct scm_timestamping *)CMSG_DATA(c))->ts[0]);
		if (!rx_ts) {
			rx_ts = clock_ns(CLOCK_REALTIME);
			p->rx_user++;
		}
		/* A datagram larger than buf is truncated: parse sees a short one only if
		 * it was ours and damaged, since ours are small. */
		handle_reply(p, fam, buf, (size_t)n, &from, msg.msg_namelen, rx_ts);
	}
}

static void *prober_main(void *arg)
{
	struct prober *p = arg;
	struct epoll_event evs[16];

	for (;;) {
		uint64_t now = clock_ns(CLOCK_MONOTONIC), next = UINT64_MAX;
		int timeout_ms, n;

		/* Sends due, then deadlines passed (after reading what already arrived). */
		for (int li = 0; li < p->nlinks; li++) {
			struct plink *l = &p->links[li];

			for (int ti = 0; ti < l->ntargets; ti++) {
				struct ptarget *t = &l->targets[ti];

				if (t->next_send_mono <= now) {
					send_probe(p, li, ti, now);
					t->nominal_mono += p->interval_ns;
					/* After a short stall the missed probes go out now, so
					 * the rate stays exact; after a long one (more than
					 * PROBE_CATCH_UP intervals) they are skipped, not burst. */
					while (t->nominal_mono + PROBE_CATCH_UP * p->interval_ns <= now) {
						t->nominal_mono += p->interval_ns;
						p->skipped++;
					}
					t->next_send_mono = t->nominal_mono +
							    rand_u64() % (p->interval_ns / 10 + 1);
				}
			}
		}
		for (int li = 0; li < p->nlinks; li++)
			for (int f = 0; f < NFAM; f++)
				drain_errqueue(p, li, f);
		for (int f = 0; f < NFAM; f++)
			if (p->rxfd[f] >= 0)
				drain_rx(p, f);
		now = clock_ns(CLOCK_MONOTONIC);
		for (int li = 0; li < p->nlinks; li++) {
			struct plink *l = &p->links[li];

			for (int ti = 0; ti < l->ntargets; ti++) {
				struct ptarget *t = &l->targets[ti];

				expire_target(p, l, t, now);
				if (t->next_send_mono < next)
					next = t->next_send_mono;
				if (t->oldest_seq != t->next_seq &&
				    slot_of(t, t->oldest_seq)->deadline_mono < next)
					next = slot_of(t, t->oldest_seq)->deadline_mono;
			}
		}
		now = clock_ns(CLOCK_MONOTONIC);
		/* Round up, so a wake-up never comes before what it waits for. */
		timeout_ms = next <= now ? 0 : (int)((next - now + 999999) / 1000000);
		n = epoll_wait(p->epfd, evs, 16, timeout_ms);
		if (n < 0 && errno != EINTR) {
			pr_err("probe: epoll_wait failed: %s; probing stops", strerror(errno));
			return NULL;
		}
		for (int i = 0; i < n; i++)
			if (evs[i].data.u64 >> 56 == EV_STOP)
				return NULL;
		/* RX and error queues are read at the top of the next round. */
	}
}

/* ---- life cycle ---- */

static void prober_free(struct prober *p)
{
	if (!p)
		return;
	for (int li = 0; li < p->nlinks; li++) {
		for (int f = 0; f < NFAM; f++)
			sock_close(p, &p->links[li].sock[f]);
		for (int ti = 0; ti < p->links[li].ntargets; ti++)
			free(p->links[li].targets[ti].slots);
		free(p->links[li].rtt);
	}
	for (int f = 0; f < NFAM; f++)
		if (p->rxfd[f] >= 0)
			close(p->rxfd[f]);
	if (p->evfd >= 0)
		close(p->evfd);
	if (p->epfd >= 0)
		close(p->epfd);
	pthread_mutex_destroy(&p->lock);
	free(p->links);
	free(p);
}

struct prober *prober_start(const struct ihm_config *cfg)
{
	struct prober *p;
	int total = 0, k = 0, err;
	bool need[NFAM] = { false, false };
	uint64_t now;

	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	pthread_mutex_init(&p->lock, NULL);
	p->epfd = p->evfd = p->rxfd[0] = p->rxfd[1] = -1;
	p->nlinks = cfg->nlinks;
	p->links = calloc(cfg->nlinks ? cfg->nlinks : 1, sizeof(*p->links));
	if (!p->links) {
		err = -ENOMEM;
		goto fail;
	}
	p->interval_ns = cfg->probe_interval_ns;
	p->timeout_ns = cfg->probe_timeout_ns;
	p->cookie = rand_u64();
	p->ident = (uint16_t)rand_u64();
	for (int li = 0; li < cfg->nlinks; li++) {
		struct plink *l = &p->links[li];

		snprintf(l->name, sizeof(l->name), "%s", cfg->links[li].name);
		snprintf(l->ifname, sizeof(l->ifname), "%s", cfg->links[li].ifname);
		l->sock[FAM4].fd = l->sock[FAM6].fd = -1;
		total += cfg->links[li].nprobes;
	}
	if (!total)
		return p;	/* nothing to probe: no sockets, no thread */
	if (p->interval_ns == 0 || p->timeout_ns == 0) {
		pr_err("probe: probe-interval and probe-timeout must be positive");
		err = -EINVAL;
		goto fail;
	}

	p->epfd = epoll_create1(EPOLL_CLOEXEC);
	p->evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (p->epfd < 0 || p->evfd < 0) {
		err = -errno;
		pr_err("probe: cannot create the event loop: %s", strerror(-err));
		goto fail;
	}
	{
		struct epoll_event ev = { .events = EPOLLIN, .data.u64 = EV_TAG(EV_STOP, 0, 0) };

		if (epoll_ctl(p->epfd, EPOLL_CTL_ADD, p->evfd, &ev)) {
			err = -errno;
			pr_err("probe: epoll_ctl: %s", strerror(-err));
			goto fail;
		}
	}

	now = clock_ns(CLOCK_MONOTONIC);
	for (int li = 0; li < cfg->nlinks; li++) {
		const struct link_conf *lc = &cfg->links[li];
		struct plink *l = &p->links[li];

		for (int ti = 0; ti < lc->nprobes; ti++) {
			const struct probe_target *pt = &lc->probes[ti];
			struct ptarget *t = &l->targets[ti];
			uint64_t phase;

			t->text = pt->text;
			if (pt->family == AF_INET) {
				t->fam = FAM4;
				t->sa.v4.sin_family = AF_INET;
				memcpy(&t->sa.v4.sin_addr, pt->addr, 4);
			} else {
				t->fam = FAM6;
				t->sa.v6.sin6_family = AF_INET6;
				memcpy(&t->sa.v6.sin6_addr, pt->addr, 16);
			}
			need[t->fam] = true;
			/* Room for every probe that can be in flight, plus the one being sent. */
			t->nslots = (uint32_t)((p->timeout_ns + p->interval_ns - 1) / p->interval_ns) + 2;
			t->slots = calloc(t->nslots, sizeof(*t->slots));
			if (!t->slots) {
				err = -ENOMEM;
				pr_err("probe: out of memory for %u probes in flight", t->nslots);
				goto fail;
			}
			t->next_seq = t->oldest_seq = (uint32_t)rand_u64();
			/* Evenly spread phases over one interval, in config order. */
			phase = p->interval_ns * (uint64_t)k++ / (uint64_t)total;
			t->nominal_mono = now + phase;
			t->next_send_mono = t->nominal_mono;
			l->ntargets++;
		}
	}
	for (int f = 0; f < NFAM; f++) {
		int flags = SOF_TIMESTAMPING_RX_SOFTWARE | SOF_TIMESTAMPING_SOFTWARE;
		struct epoll_event ev = { .events = EPOLLIN, .data.u64 = EV_TAG(EV_RX, 0, f) };

		if (!need[f])
			continue;
		p->rxfd[f] = open_raw(f, true);
		if (p->rxfd[f] < 0) {
			err = p->rxfd[f];
			p->rxfd[f] = -1;
			pr_err("probe: cannot open a raw %s ICMP socket: %s%s", fam_name(f),
			       strerror(-err),
			       err == -EPERM ? " (ihmd needs root or CAP_NET_RAW for probes)" : "");
			goto fail;
		}
		if (setsockopt(p->rxfd[f], SOL_SOCKET, SO_TIMESTAMPING, &flags, sizeof(flags)))
			pr_warn("probe: no kernel RX time stamps on %s (%s); using the user-space clock",
				fam_name(f), strerror(errno));
		if (epoll_ctl(p->epfd, EPOLL_CTL_ADD, p->rxfd[f], &ev)) {
			err = -errno;
			pr_err("probe: epoll_ctl: %s", strerror(-err));
			goto fail;
		}
	}
	err = -pthread_create(&p->thread, NULL, prober_main, p);
	if (err) {
		pr_err("probe: cannot start the probing thread: %s", strerror(-err));
		goto fail;
	}
	p->thread_started = true;
	pr_info("probe: %d target(s), one probe each every %.3fs, timeout %.3fs", total,
		(double)p->interval_ns / 1e9, (double)p->timeout_ns / 1e9);
	return p;
fail:
	prober_free(p);
	errno = -err;
	return NULL;
}

void prober_stop(struct prober *p)
{
	uint64_t one = 1;

	if (!p)
		return;
	if (p->thread_started) {
		if (write(p->evfd, &one, sizeof(one)) != sizeof(one))
			pr_warn("probe: cannot wake the probing thread: %s", strerror(errno));
		pthread_join(p->thread, NULL);
		pr_info("probe: stopped; %llu late replies discarded, %llu foreign and %llu malformed "
			"echo replies ignored, %llu send errors, %llu dropped by the local qdisc/tc, "
			"%llu send slots skipped after stalls, "
			"user-space clock used for %llu TX and %llu RX time stamps",
			(unsigned long long)p->late, (unsigned long long)p->foreign,
			(unsigned long long)p->malformed, (unsigned long long)p->send_errors,
			(unsigned long long)p->local_drops,
			(unsigned long long)p->skipped, (unsigned long long)p->tx_user,
			(unsigned long long)p->rx_user);
	}
	prober_free(p);
}
