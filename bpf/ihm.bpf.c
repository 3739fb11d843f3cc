// SPDX-License-Identifier: GPL-2.0-only
/*
 * presage IHM data plane: per-interconnect traffic, TCP RTT and loss.
 *
 * XDP sees what arrives on an interconnect, tc (clsact egress) what leaves by
 * it. Both entry points only extract what their context knows (interface,
 * lengths, direction) and call presage_handle(), which does all the work.
 * Every packet is passed: the programs measure, they never filter.
 *
 * RTT is measured on the outside half of the path, router <-> remote:
 *  - timestamps: a TSval leaving by an interconnect, matched by the TSecr that
 *    echoes it coming back;
 *  - handshakes: SYN out -> SYN-ACK in (connections opened outward) and
 *    SYN-ACK out -> ACK in (connections opened inward).
 * A sample is credited to the interconnect the measured packet left by; the
 * flow table is shared by every interface so a reply that comes back by
 * another interconnect still matches (and is counted in rtt_asym).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "presage.h"
#include "lib/parse.h"
#include <xdp/xdp_helpers.h>

#define TC_ACT_UNSPEC_ (-1)

/*
 * libxdp dispatcher order: run early (lower runs first) so that presage
 * measures what arrived on the interconnect before a filter drops anything,
 * and let the next program run after our XDP_PASS.
 */
struct {
	__uint(priority, 5);
	__uint(XDP_PASS, 1);
} XDP_RUN_CONFIG(presage_xdp);

/* Per-flow sampling limit: at most one TSval recorded per flow per interval. */
const volatile __u64 ts_min_interval_ns = PRESAGE_TS_MIN_INTERVAL_NS;

/*
 * A timed TSval waits for its echo this long before a newer one may replace
 * it (an echo that never comes: the reverse path bypasses presage). Before,
 * a newer TSval replaced it after ts_min_interval_ns, so with an RTT above
 * 10 ms under steady sending the echo always found a newer value and nearly
 * no sample was taken (seen in vmtest: cubic filling a 50 ms TBF queue, 1
 * sample where ping saw 50 ms; the host's BBR kept its RTT under 10 ms).
 */
#ifndef PRESAGE_TS_PENDING_MAX_NS
#define PRESAGE_TS_PENDING_MAX_NS 1000000000ULL
#endif

/*
 * ifindex -> link id, the authority. Written by the agent at attach time;
 * read only when link_slots does not hold the interface (see presage.h).
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PRESAGE_MAX_IFACES);
	__type(key, __u32);
	__type(value, struct link_cfg);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} links_cfg SEC(".maps");

/* ifindex % PRESAGE_LINK_SLOTS -> (ifindex, link id). Written by the agent. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PRESAGE_LINK_SLOTS);
	__type(key, __u32);
	__type(value, struct link_slot);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} link_slots SEC(".maps");

/* link id -> name, ifindex, capacity. Written by the agent only. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PRESAGE_MAX_LINKS);
	__type(key, __u32);
	__type(value, struct link_info);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} link_info SEC(".maps");

/* link id -> counters, per CPU. Written by both programs. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PRESAGE_MAX_LINKS);
	__type(key, __u32);
	__type(value, struct link_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} link_stats SEC(".maps");

/* link id -> RTT histogram, per CPU. Written by both programs. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PRESAGE_MAX_LINKS);
	__type(key, __u32);
	__type(value, struct rtt_hist);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} rtt_hist SEC(".maps");

/* TCP flow state shared by every interface. Written by both programs. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, PRESAGE_MAX_FLOWS);
	__type(key, struct flow_key);
	__type(value, struct flow_state);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} flows SEC(".maps");

/* Global knobs the agent changes at run time (tick generation). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct presage_cfg);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} presage_cfg SEC(".maps");

/*
 * Per CPU: the coarse clock as last read and the jiffy it was read in. The
 * coarse clock moves only at a tick, so within one jiffy a read is a copy of
 * the last (bpf_jiffies64() and this look-up are inlined; the helper call is
 * not). Private to the programs: nothing to pin.
 */
struct tick_cache {
	__u64 jiffies;
	__u64 coarse_ns;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tick_cache);
} tick_cache SEC(".maps");

/* What an entry point knows about the packet before parsing. */
struct pkt_ctx {
	void *ctx;		/* struct xdp_md or struct __sk_buff */
	void *data;
	void *data_end;
	__u32 ifindex;
	__u32 len;		/* bytes of the whole packet from the L2 header */
	__u32 segs;		/* wire packets it stands for (GSO) */
	__u32 hdr_len;		/* L2..L4 header bytes, once known */
};

/*
 * A sample for link @link_id; @st are the counters of the link the packet
 * came by, which are the sample's own unless the path is asymmetric.
 */
static __always_inline void record_rtt(__u32 link_id, __u64 rtt, bool handshake, bool asym,
				       struct link_stats *st)
{
	struct rtt_hist *h;
	struct presage_cfg *cfg;
	__u32 zero = 0, b;
	__u64 gen = 0;

	if (asym)
		st = bpf_map_lookup_elem(&link_stats, &link_id);
	h = bpf_map_lookup_elem(&rtt_hist, &link_id);
	if (!st || !h)
		return;
	cfg = bpf_map_lookup_elem(&presage_cfg, &zero);
	if (cfg)
		gen = cfg->tick_gen;
	if (handshake)
		st->rtt_hs_samples++;
	else
		st->rtt_ts_samples++;
	if (asym)
		st->rtt_asym++;

	h->count++;
	h->sum_ns += rtt;
	if (!h->min_ns || rtt < h->min_ns)
		h->min_ns = rtt;
	if (rtt > h->max_ns)
		h->max_ns = rtt;
	if (h->win_gen != gen) {
		h->win_gen = gen;
		h->win_min_ns = rtt;
		h->win_max_ns = rtt;
	} else {
		if (rtt < h->win_min_ns)
			h->win_min_ns = rtt;
		if (rtt > h->win_max_ns)
			h->win_max_ns = rtt;
	}
	b = hist_bucket(rtt);
	/*
	 * Redundant for the verifier's sake: hist_bucket() never exceeds it.
	 * clang proves that and drops the check, which Linux 6.1's verifier
	 * needs (it loses the bound that hist_bucket()'s own branch sets when
	 * clang spills rtt to the stack first); the barrier keeps it.
	 */
	barrier_var(b);
	if (b < HIST_BUCKETS)
		h->buckets[b]++;
}

/*
 * Canonical key: the endpoint with the lower (address, port) is side 0, the
 * address compared byte-wise as an IPv4-mapped IPv6 one, then the port in
 * host order. Returns the side of the packet's source. IPv4-mapped addresses
 * share their first 12 bytes, so two IPv4 addresses compare as the 32-bit
 * numbers; IPv6 ones compare as two big-endian 64-bit halves (the byte order
 * of a byte-wise compare). @ports is the TCP header's first word, source
 * port then destination port as in the packet.
 */
static __always_inline __u8 make_key(struct flow_key *key, const bool v6, const struct l3_info *l3,
				     __u32 ports)
{
	__be16 pp[2];
	bool swap;

	__builtin_memcpy(pp, &ports, 4);
	if (!v6) {
		__u32 s = bpf_ntohl(l3->saddr4), d = bpf_ntohl(l3->daddr4);

		if (s != d)
			swap = s > d;
		else
			swap = bpf_ntohs(pp[0]) >= bpf_ntohs(pp[1]);
		put_v4mapped(key->addr[0], swap ? l3->daddr4 : l3->saddr4);
		put_v4mapped(key->addr[1], swap ? l3->saddr4 : l3->daddr4);
	} else {
		__u64 s0, s1, d0, d1;

		__builtin_memcpy(&s0, l3->saddr, 8);
		__builtin_memcpy(&s1, l3->saddr + 8, 8);
		__builtin_memcpy(&d0, l3->daddr, 8);
		__builtin_memcpy(&d1, l3->daddr + 8, 8);
		if (s0 != d0)
			swap = bpf_be64_to_cpu(s0) > bpf_be64_to_cpu(d0);
		else if (s1 != d1)
			swap = bpf_be64_to_cpu(s1) > bpf_be64_to_cpu(d1);
		else
			swap = bpf_ntohs(pp[0]) >= bpf_ntohs(pp[1]);
		__builtin_memcpy(key->addr[0], swap ? l3->daddr : l3->saddr, 16);
		__builtin_memcpy(key->addr[1], swap ? l3->saddr : l3->daddr, 16);
	}
	/* Swapping the two halves swaps the ports in either byte order. */
	if (swap)
		ports = ports >> 16 | ports << 16;
	__builtin_memcpy(key->port, &ports, 4);
	key->pad = 0;
	return swap;
}

/*
 * bpf_ktime_get_coarse_ns(), read at most once per jiffy and CPU. A reader
 * that sees a new jiffy a few microseconds before the timekeeping CPU has
 * moved the coarse clock keeps the old value for that jiffy: the clock then
 * lags by up to two ticks instead of one.
 */
static __always_inline __u64 coarse_now(void)
{
	struct tick_cache *c;
	__u32 zero = 0;
	__u64 j = bpf_jiffies64();

	c = bpf_map_lookup_elem(&tick_cache, &zero);
	if (!c)
		return bpf_ktime_get_coarse_ns();
	if (c->jiffies != j) {
		c->coarse_ns = bpf_ktime_get_coarse_ns();
		c->jiffies = j;
	}
	return c->coarse_ns;
}

/* The clock is read only by the packets that need a time (about 20 ns a read). */
static __always_inline __u64 clock_now(__u64 *now)
{
	if (!*now)
		*now = bpf_ktime_get_ns();
	return *now;
}

/*
 * A SYN (HS_SYN_OUT) or SYN-ACK (HS_SYNACK_OUT) leaves: time it. The same
 * kind leaving again makes the sample ambiguous (Karn), so it is dropped.
 * @ack is what the completing ACK must acknowledge (SYN-ACK only).
 */
static __always_inline void arm_handshake(struct flow_state *fs, __u8 state, __u64 now,
					  __u32 link_id, __u8 side, __u32 ack)
{
	if (fs->hs_state == state) {
		fs->hs_state = HS_NONE;
		return;
	}
	fs->hs_state = state;
	fs->hs_time_ns = now;
	fs->hs_link = link_id;
	fs->hs_side = side;
	fs->hs_ack = ack;
}

/*
 * Copy @len bytes at @off of the packet to @to, for what is not in the linear
 * data (an skb's paged part, an XDP frag). The hook decides which helper can
 * read it.
 */
static __always_inline int pkt_load(struct pkt_ctx *p, const bool egress, __u32 off, void *to,
				    __u32 len)
{
	if (egress)
		return bpf_skb_load_bytes(p->ctx, off, to, len);
	return bpf_xdp_load_bytes(p->ctx, off, to, len);
}

/* NOP NOP TS(kind 8, length 10): the layout Linux puts on every segment. */
#define TCPOPT_NOP_NOP_TS 0x0101080aU

/*
 * Find the timestamp option in the @olen (1..40) option bytes at @opt_pos
 * (packet offset @opt_off). The layout Linux sends is read in place; any
 * other goes through parse_tcp_ts() on a stack copy (see lib/parse.h).
 */
static __always_inline int tcp_options(struct pkt_ctx *p, const bool egress, void *opt_pos,
				       __u32 opt_off, __u32 olen, __u32 *tsval, __u32 *tsecr)
{
	__u64 optq[10];		/* 80 bytes, 8-aligned: copied and zeroed by words */
	__u8 *opt = (__u8 *)optq;
	__u32 *w = opt_pos;

	if (olen >= 12 && (void *)(w + 3) <= p->data_end && w[0] == bpf_htonl(TCPOPT_NOP_NOP_TS)) {
		*tsval = bpf_ntohl(w[1]);
		*tsecr = bpf_ntohl(w[2]);
		return TCPOPT_TS;
	}
	/* parse_tcp_ts() may read up to opt[73]: what the copy does not fill is zeroed. */
	__builtin_memset(&optq[5], 0, 40);
	if (opt_pos + 40 <= p->data_end) {
		/*
		 * All 40 bytes a TCP header can hold are linear: copy them by
		 * words (a byte-wise memcpy from a void * is 80 instructions),
		 * no helper call. Bytes past olen are payload, never parsed.
		 */
		__u64 *q = opt_pos;

		optq[0] = q[0];
		optq[1] = q[1];
		optq[2] = q[2];
		optq[3] = q[3];
		optq[4] = q[4];
	} else {
		/*
		 * Linux 6.1's verifier loses the range of olen here (clang
		 * spills it before the caller's checks, and 6.1 neither links
		 * a spilled scalar to its register nor learns olen >= 1 from
		 * olen != 0), so the load was refused ("invalid zero-sized
		 * read"). Restate 1..64 in the length register itself (olen is
		 * 1..40 here, so n == olen); the barrier keeps clang from
		 * folding it. Found by vmtest.
		 */
		__u32 n = olen;

		__builtin_memset(optq, 0, 40);
		if (olen > 40)
			return TCPOPT_BAD;
		barrier_var(n);
		n = ((n - 1) & 63) + 1;
		if (pkt_load(p, egress, opt_off, opt, n))
			return TCPOPT_BAD;
	}
	return parse_tcp_ts(opt, olen, tsval, tsecr);
}

/* TCP flag bits in the header's 14th byte. */
#define TCPF_SYN_ 0x02
#define TCPF_RST_ 0x04
#define TCPF_ACK_ 0x10

static __always_inline void handle_tcp(struct pkt_ctx *p, const bool egress, const bool v6,
				       void *l4_pos,
				       struct l3_info *l3, __u32 link_id, struct link_stats *st)
{
	struct tcphdr buf;
	struct flow_state *fs, init;
	struct flow_key key;
	const struct tcphdr *th = l4_pos;
	__u32 l4_off = l4_pos - p->data;
	__u32 thl, olen, payload, seq, end, tsval = 0, tsecr = 0, segs = p->segs;
	__u32 ports, seq_be, ack_be;
	__u64 now = 0;
	__u8 side, flags;
	bool syn, ack, rst, created = false;
	int ts = TCPOPT_NONE, err;

	if (l3->l4_len < sizeof(buf)) {
		st->bad_l4++;
		return;
	}
	/*
	 * The header is linear on every path but a fragmented one: read the
	 * fields needed in place, and copy the header out only when it is not.
	 */
	if (l4_pos + sizeof(buf) > p->data_end) {
		if (pkt_load(p, egress, l4_off, &buf, sizeof(buf))) {
			st->bad_l4++;
			return;
		}
		th = &buf;
	}
	__builtin_memcpy(&ports, &th->source, 4);
	seq_be = th->seq;
	ack_be = th->ack_seq;
	thl = th->doff * 4;
	flags = ((const __u8 *)th)[13];
	if (thl < sizeof(buf) || thl > l3->l4_len) {
		st->bad_l4++;
		return;
	}
	olen = thl - sizeof(buf);
	if (olen > 0)
		ts = tcp_options(p, egress, l4_pos + sizeof(buf), l4_off + sizeof(buf), olen,
				 &tsval, &tsecr);
	if (ts == TCPOPT_BAD) {
		st->bad_l4++;
		return;
	}
	if (ts == TCPOPT_OVERFLOW)
		st->tcpopt_overflow++;

	payload = l3->l4_len - thl;
	p->hdr_len = l4_off + thl;
	syn = flags & TCPF_SYN_;
	ack = flags & TCPF_ACK_;
	rst = flags & TCPF_RST_;
	side = make_key(&key, v6, l3, ports) & 1;

	fs = bpf_map_lookup_elem(&flows, &key);
	if (!fs) {
		/* A reset needs no state: nothing will follow it. */
		if (rst)
			return;
		/*
		 * A new flow is built on the stack and inserted once at the
		 * end: an insert and a look-up of the new entry would hash
		 * the key twice more.
		 */
		__builtin_memset(&init, 0, sizeof(init));
		fs = &init;
		created = true;
	}

	/* Loss: a data segment starting below the highest end seen is a retransmission. */
	if (payload > 0) {
		seq = bpf_ntohl(seq_be);
		end = seq + payload;
		if (egress)
			st->tx_tcp_data += segs;
		else
			st->rx_tcp_data += segs;
		__u32 si = (side & 1) * 2 + (egress ? 1 : 0);

		if (fs->seq_valid[si]) {
			if ((__s32)(seq - fs->seq_end[si]) < 0) {
				if (egress)
					st->tx_tcp_retrans += segs;
				else
					st->rx_tcp_retrans += segs;
			}
			if ((__s32)(end - fs->seq_end[si]) > 0)
				fs->seq_end[si] = end;
		} else {
			fs->seq_end[si] = end;
			fs->seq_valid[si] = 1;
		}
	}

	if (egress) {
		if (syn) {
			arm_handshake(fs, ack ? HS_SYNACK_OUT : HS_SYN_OUT, clock_now(&now), link_id,
				      side, bpf_ntohl(seq_be) + 1);
		} else if (ts == TCPOPT_TS) {
			/* SYNs are timed by the handshake; timing their TSval too would count twice. */
			if (!fs->ts_pending || fs->ts_val != tsval) {
				/*
				 * Nearly every segment a busy flow sends carries a
				 * new TSval and is turned away here by the sampling
				 * limit, so the gate reads the coarse clock (the
				 * last tick) once per jiffy and CPU, not
				 * bpf_ktime_get_ns (34 ns a call on the development
				 * machine); only a TSval that is timed reads the
				 * precise clock. Both limits are thus measured in
				 * ticks: a TSval is timed at most once per
				 * ts_min_interval_ns, up to two ticks (2-20 ms)
				 * later than the interval.
				 */
				__u64 tick = coarse_now();

				if (tick - fs->ts_last_ns >= ts_min_interval_ns &&
				    (!fs->ts_pending ||
				     tick - fs->ts_last_ns >= PRESAGE_TS_PENDING_MAX_NS)) {
					fs->ts_val = tsval;
					fs->ts_time_ns = clock_now(&now);
					fs->ts_last_ns = tick;
					fs->ts_link = link_id;
					fs->ts_side = side;
					fs->ts_pending = 1;
				} else if (fs->ts_val != tsval) {
					st->ts_sampled_skip++;
				}
			}
		}
	} else if (!created) {
		/* A flow seen for the first time has nothing pending to complete. */
		if (syn && ack) {
			if (fs->hs_state == HS_SYN_OUT && fs->hs_side != side) {
				fs->hs_state = HS_NONE;
				record_rtt(fs->hs_link, clock_now(&now) - fs->hs_time_ns, true,
					   fs->hs_link != link_id, st);
			}
		} else if (!syn && ack) {
			if (fs->hs_state == HS_SYNACK_OUT && fs->hs_side != side &&
			    bpf_ntohl(ack_be) == fs->hs_ack) {
				fs->hs_state = HS_NONE;
				record_rtt(fs->hs_link, clock_now(&now) - fs->hs_time_ns, true,
					   fs->hs_link != link_id, st);
			}
			if (ts == TCPOPT_TS && fs->ts_pending && fs->ts_side != side &&
			    tsecr == fs->ts_val) {
				fs->ts_pending = 0;
				record_rtt(fs->ts_link, clock_now(&now) - fs->ts_time_ns, false,
					   fs->ts_link != link_id, st);
			} else if (ts == TCPOPT_TS && fs->ts_pending && fs->ts_side != side &&
				   (__s32)(tsecr - fs->ts_val) > 0) {
				/*
				 * The receiver echoed a later TSval (a delayed ACK
				 * echoes the oldest unacknowledged segment's), so
				 * the timed one's echo is gone: time the next.
				 */
				fs->ts_pending = 0;
			}
		}
	}

	if (created) {
		err = bpf_map_update_elem(&flows, &key, &init, BPF_NOEXIST);
		/*
		 * EEXIST: another CPU inserted the flow between our look-up
		 * and now; its entry stands and this packet's state is lost,
		 * which costs at most one sample.
		 */
		if (!err)
			st->flows_created++;
		else if (err != -17 /* EEXIST */)
			st->flow_insert_fail++;
	} else if (rst) {
		bpf_map_delete_elem(&flows, &key);
		st->flows_closed++;
	}
}

/*
 * ifindex -> link id: the slot first (an inlined array read), links_cfg when
 * the slot holds another interface. Returns 0, or -1 for an interface that is
 * not configured.
 */
static __always_inline int link_of(__u32 ifindex, __u32 *link_id)
{
	__u32 k = link_slot_of(ifindex);
	struct link_slot *ls;
	struct link_cfg *lc;

	ls = bpf_map_lookup_elem(&link_slots, &k);
	if (ls && ls->ifindex == ifindex && ifindex) {
		*link_id = ls->link_id;
		return 0;
	}
	lc = bpf_map_lookup_elem(&links_cfg, &ifindex);
	if (!lc)
		return -1;
	*link_id = lc->link_id;
	return 0;
}

/* Counts why an IP packet is not measured; true for a TCP one to measure. */
static __always_inline bool l3_measured(struct link_stats *st, int err, const struct l3_info *l3)
{
	if (err < 0) {
		st->bad_l3++;
		return false;
	}
	if (l3->ext_overflow) {
		st->ipv6_ext_overflow++;
		return false;
	}
	if (l3->is_frag) {
		st->ip_frag++;
		return false;
	}
	return l3->proto == IPPROTO_TCP_;
}

static __always_inline void presage_handle(struct pkt_ctx *p, const bool egress)
{
	struct hdr_cursor nh = { .pos = p->data };
	struct l3_info l3;
	struct link_stats *st;
	__u32 link_id, avail;
	int proto, err;

	if (link_of(p->ifindex, &link_id))
		return;
	st = bpf_map_lookup_elem(&link_stats, &link_id);
	if (!st)
		return;

	proto = parse_eth(&nh, p->data_end);
	if (proto < 0) {
		st->bad_l2++;
		goto count;
	}
	avail = p->len - (__u32)(nh.pos - p->data);
	/*
	 * One copy of handle_tcp() per IP version: each builds its flow key
	 * without asking which version it has.
	 */
	if (proto == ETH_P_IP_) {
		err = parse_ipv4(&nh, p->data_end, avail, &l3);
		if (l3_measured(st, err, &l3))
			handle_tcp(p, egress, false, nh.pos, &l3, link_id, st);
	} else if (proto == ETH_P_IPV6_) {
		err = parse_ipv6(&nh, p->data_end, avail, &l3);
		if (l3_measured(st, err, &l3))
			handle_tcp(p, egress, true, nh.pos, &l3, link_id, st);
	} else {
		st->non_ip++;
	}
count:
	if (egress) {
		/*
		 * A GSO packet becomes segs packets on the wire, each with its
		 * own copy of the headers: count what the link carries.
		 */
		st->tx_packets += p->segs;
		st->tx_bytes += p->len + (p->segs - 1) * p->hdr_len;
	} else {
		st->rx_packets += p->segs;
		st->rx_bytes += p->len;
	}
}

SEC("xdp")
int presage_xdp(struct xdp_md *ctx)
{
	struct pkt_ctx p = {
		.data = (void *)(long)ctx->data,
		.data_end = (void *)(long)ctx->data_end,
		.ifindex = ctx->ingress_ifindex,
		.segs = 1,
		.ctx = ctx,
	};

	p.len = p.data_end - p.data;
	presage_handle(&p, false);
	return XDP_PASS;
}

/*
 * Headers needed in the linear part of an skb: Ethernet, two VLAN tags, IPv6
 * with a few extension headers, TCP with options.
 */
#define PULL_LEN 256

SEC("tc")
int presage_tc(struct __sk_buff *skb)
{
	struct pkt_ctx p = {};
	__u32 segs = skb->gso_segs, len = skb->len;
	long head = (long)skb->data_end - (long)skb->data;

	/* Headers in paged data are invisible to direct access; pull them in. */
	if (head < PULL_LEN && head < len)
		bpf_skb_pull_data(skb, len < PULL_LEN ? len : PULL_LEN);
	/*
	 * The pull invalidates packet pointers; read them again. The barrier
	 * stops clang from merging these loads with the ones above into a
	 * computed context offset, which the verifier rejects ("dereference
	 * of modified ctx ptr").
	 */
	asm volatile("" ::: "memory");
	p.data = (void *)(long)skb->data;
	p.data_end = (void *)(long)skb->data_end;
	p.ifindex = skb->ifindex;
	p.len = len;
	p.segs = segs ? segs : 1;
	p.ctx = skb;
	presage_handle(&p, true);
	return TC_ACT_UNSPEC_;
}

char LICENSE[] SEC("license") = "GPL";
