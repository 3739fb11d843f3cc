/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The kernel/user contract of presage's data plane: every struct that a BPF
 * program writes and user space reads, with the map sizes beside them. Both
 * sides include this one header, so they agree by construction.
 *
 * Rules: fixed-width types only, no pointers, padding named, every struct a
 * multiple of 8 bytes. Changing a layout changes the pinned maps' value size,
 * and the agent then refuses to reuse old pins with a message that says how
 * to remove them (ihmd --cleanup).
 */
#ifndef PRESAGE_H
#define PRESAGE_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* Where the agent pins its maps: bpftool map dump pinned PRESAGE_PIN_DIR/<map>. */
#define PRESAGE_PIN_DIR "/sys/fs/bpf/presage"

/* Interconnects one agent can watch; link ids run 0..PRESAGE_MAX_LINKS-1. */
#ifndef PRESAGE_MAX_LINKS
#define PRESAGE_MAX_LINKS 256
#endif

/*
 * Flow table size (TCP flows tracked at once, shared by every interconnect).
 * An LRU: when full, the least recently used flow is evicted (that is also
 * how idle flows go: nothing stores a last-seen time). An entry takes 160
 * bytes in the kernel (48 of hash and LRU links, the 40-byte key, the
 * 72-byte struct flow_state), so 128 Ki flows take about 22 MiB with the
 * bucket array.
 */
#ifndef PRESAGE_MAX_FLOWS
#define PRESAGE_MAX_FLOWS 131072
#endif

/* Interfaces the config map may name (several may share one link id). */
#ifndef PRESAGE_MAX_IFACES
#define PRESAGE_MAX_IFACES 1024
#endif

/*
 * IPv6 extension headers walked before giving up; a chain past this bound is
 * counted in ipv6_ext_overflow and the packet is passed unmeasured.
 */
#ifndef PRESAGE_IPV6_EXT_MAX
#define PRESAGE_IPV6_EXT_MAX 6
#endif

/* VLAN tags (802.1Q / 802.1ad) skipped; more are counted as malformed L2. */
#define PRESAGE_VLAN_MAX 2

/*
 * TCP option walk bound. 40 bytes of options allow 40 one-byte NOPs, but real
 * stacks put the timestamp within the first few options; 16 steps cover every
 * layout Linux, BSD and Windows send. A walk past it is counted.
 */
#define PRESAGE_TCPOPT_STEPS 16

/*
 * RTT histogram: log-linear ("HDR") buckets over nanoseconds. Values below
 * 2^HIST_MIN_SHIFT ns fall in 16 linear buckets of 2^(MIN_SHIFT-4) ns; every
 * octave above is split into 2^HIST_SUB_BITS equal buckets, so a bucket is at
 * most 1/16 = 6.25 % of its lower bound wide and a quantile read at the
 * bucket's middle is within 3.2 % of the true value. Octaves run up to 2^36 ns
 * (68 s); anything above lands in the last bucket.
 */
#define HIST_SUB_BITS 4
#define HIST_SUB (1 << HIST_SUB_BITS)
#define HIST_MIN_SHIFT 10
#define HIST_MAX_SHIFT 36
#define HIST_BUCKETS ((HIST_MAX_SHIFT - HIST_MIN_SHIFT + 1) * HIST_SUB)

static inline __u32 hist_bucket(__u64 v)
{
	__u32 msb = 0;
	__u64 x = v;

	if (v < (1ULL << HIST_MIN_SHIFT))
		return (__u32)(v >> (HIST_MIN_SHIFT - HIST_SUB_BITS));
	/* Find the most significant bit without a loop (the BPF backend has no clz). */
	if (x >> 32) { x >>= 32; msb += 32; }
	if (x >> 16) { x >>= 16; msb += 16; }
	if (x >> 8) { x >>= 8; msb += 8; }
	if (x >> 4) { x >>= 4; msb += 4; }
	if (x >> 2) { x >>= 2; msb += 2; }
	if (x >> 1) { msb += 1; }
	if (msb >= HIST_MAX_SHIFT + 1)
		return HIST_BUCKETS - 1;
	return (msb - HIST_MIN_SHIFT + 1) * HIST_SUB +
	       (__u32)((v >> (msb - HIST_SUB_BITS)) & (HIST_SUB - 1));
}

/* Lowest value (ns) that falls in bucket @b; the bucket ends where b+1 starts. */
static inline __u64 hist_bucket_low(__u32 b)
{
	__u32 oct = b / HIST_SUB, sub = b % HIST_SUB;

	if (oct == 0)
		return (__u64)sub << (HIST_MIN_SHIFT - HIST_SUB_BITS);
	return ((__u64)(HIST_SUB + sub)) << (HIST_MIN_SHIFT + oct - 1 - HIST_SUB_BITS);
}

/*
 * link_slots: a direct-mapped cache of links_cfg that the programs read on
 * every packet, because an ARRAY look-up is inlined by the verifier while a
 * HASH look-up costs a helper call and a hash (about 20 ns of the ~25 ns the
 * link look-up took). Slot link_slot_of(ifindex) holds one configured
 * interface; a second interface whose ifindex falls in the same slot is not
 * cached there, and the programs find it in links_cfg (the authority) when
 * the slot names another ifindex. The agent writes links_cfg first and the
 * slot second when it attaches, and clears the slot first when it detaches.
 * Power of two.
 */
#ifndef PRESAGE_LINK_SLOTS
#define PRESAGE_LINK_SLOTS 256
#endif

struct link_slot {
	__u32 ifindex;		/* 0 = empty */
	__u32 link_id;
};

static inline __u32 link_slot_of(__u32 ifindex)
{
	return ifindex & (PRESAGE_LINK_SLOTS - 1);
}

/*
 * links_cfg map value, keyed by ifindex. Written by the agent when it attaches
 * an interface; read by both programs on every packet. A packet on an
 * interface with no entry is passed untouched.
 */
struct link_cfg {
	__u32 link_id;		/* index into link_stats / rtt_hist */
	__u32 flags;		/* reserved, 0 */
};

/*
 * link_info map value, keyed by link id: names the interconnect so that
 * `bpftool map dump` and a restarted agent see which id is which link.
 * Written by the agent only.
 */
struct link_info {
	char name[32];		/* interconnect name from the config */
	__u32 ifindex;		/* interface it was last attached to */
	__u32 in_use;		/* 1 while configured */
	__u64 capacity_bps;	/* configured capacity */
};

/*
 * link_stats map value (per-CPU array keyed by link id): monotonic counters
 * that user space sums over CPUs and differences per tick. rx = arrived on the
 * interconnect (XDP), tx = left by it (tc egress).
 */
struct link_stats {
	__u64 rx_packets;
	__u64 rx_bytes;
	__u64 tx_packets;	/* wire packets: a GSO packet counts its segments */
	__u64 tx_bytes;		/* wire bytes, headers of each segment included */
	__u64 rx_tcp_data;	/* TCP segments carrying payload */
	__u64 rx_tcp_retrans;	/* of those, starting below the flow's highest end */
	__u64 tx_tcp_data;
	__u64 tx_tcp_retrans;
	__u64 rtt_ts_samples;	/* RTT samples from TSval out / TSecr in */
	__u64 rtt_hs_samples;	/* RTT samples from handshakes */
	__u64 rtt_asym;		/* samples whose reply came back by another link */
	__u64 non_ip;		/* neither IPv4 nor IPv6 (ARP, LLDP, ...) */
	__u64 ip_frag;		/* IP fragments: counted, not parsed past L3 */
	__u64 bad_l2;		/* truncated Ethernet/VLAN header, VLAN stack too deep */
	__u64 bad_l3;		/* truncated or inconsistent IPv4/IPv6 header */
	__u64 bad_l4;		/* truncated TCP header, data offset out of range, bad option length */
	__u64 ipv6_ext_overflow; /* extension chain longer than PRESAGE_IPV6_EXT_MAX */
	__u64 tcpopt_overflow;	/* option walk stopped at PRESAGE_TCPOPT_STEPS */
	__u64 flows_created;	/* inserts into the flow table */
	__u64 flow_insert_fail;	/* inserts the kernel refused */
	__u64 flows_closed;	/* flows deleted after RST */
	__u64 ts_sampled_skip;	/* TSvals not recorded because of the per-flow limit */
};

/*
 * rtt_hist map value (per-CPU array keyed by link id). count/sum/min/max and
 * the buckets are monotonic since load. win_* hold the min and max of the
 * current tick only: the program restarts them whenever the agent bumps
 * presage_cfg.tick_gen, so the agent gets exact per-tick extremes.
 */
struct rtt_hist {
	__u64 count;
	__u64 sum_ns;
	__u64 min_ns;		/* 0 = no sample yet */
	__u64 max_ns;
	__u64 win_gen;		/* tick_gen that win_min/win_max belong to */
	__u64 win_min_ns;
	__u64 win_max_ns;
	__u64 buckets[HIST_BUCKETS];
};

/* presage_cfg map value (array of one), written by the agent. */
struct presage_cfg {
	__u64 tick_gen;		/* bumped by the agent at every tick */
};

/*
 * Flow key: a TCP connection with its endpoints in canonical order (the lower
 * address/port first), so both directions and every interface share one
 * entry. IPv4 addresses are stored as IPv4-mapped IPv6.
 */
struct flow_key {
	__u8 addr[2][16];
	__be16 port[2];
	__u32 pad;
};

/* Handshake state in flow_state.hs_state. */
enum {
	HS_NONE = 0,
	HS_SYN_OUT = 1,		/* our side sent SYN out: waiting for SYN-ACK in */
	HS_SYNACK_OUT = 2,	/* SYN came in, SYN-ACK went out: waiting for the ACK in */
};

/*
 * Flow table value. "side" is 0 for the endpoint at addr[0], 1 for addr[1].
 * Sequence state is per side; one pending TSval and one pending handshake per
 * flow bound both memory and work.
 */
struct flow_state {
	/*
	 * Highest sequence end seen from each side, per hook: [side * 2 +
	 * egress]. A transit flow (in by one interconnect, out by another) is
	 * seen once by XDP and once by tc with the same sequence numbers; one
	 * shared mark would make the second sighting a "retransmission".
	 */
	__u32 seq_end[4];
	__u8 seq_valid[4];	/* seq_end[i] holds a value */
	__u8 ts_side;		/* side that sent the pending TSval */
	__u8 hs_state;		/* HS_* */
	__u8 pad0[2];
	__u32 ts_val;		/* pending TSval sent out */
	__u32 pad1;		/* was padding the compiler left unnamed */
	__u64 ts_time_ns;	/* when it left */
	__u64 ts_last_ns;	/* coarse clock (ticks) when ts_val was timed: sampling limit */
	__u32 ts_link;		/* link it left by */
	__u32 hs_link;		/* link the SYN or SYN-ACK left by */
	__u64 hs_time_ns;	/* when it left */
	__u32 hs_ack;		/* for HS_SYNACK_OUT: the ACK number that completes it */
	__u8 hs_side;		/* side that sent the SYN / SYN-ACK */
	__u8 ts_pending;	/* ts_val is waiting for its echo */
	__u8 pad[2];
};

_Static_assert(sizeof(struct flow_key) == 40, "struct flow_key is part of the pinned map's layout");
_Static_assert(sizeof(struct flow_state) == 72, "struct flow_state is part of the pinned map's layout");

/*
 * Knobs fixed at load time (const volatile in the programs, so the verifier
 * prunes what they switch off). Documented here because the agent sets them.
 *   ts_min_interval_ns: per-flow sampling limit, at most one TSval recorded per
 *   flow per interval (default 10 ms), measured on the kernel's coarse clock
 *   (read once per jiffy and CPU), so the gap between two timed TSvals may
 *   exceed it by up to two ticks.
 */
#define PRESAGE_TS_MIN_INTERVAL_NS 10000000ULL

#endif /* PRESAGE_H */
