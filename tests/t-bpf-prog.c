// SPDX-License-Identifier: GPL-2.0-only
/*
 * The data plane through BPF_PROG_TEST_RUN: a table of crafted packets, each
 * with the hook it goes through, the expected verdict and the exact expected
 * change of every counter of both links (anything not named must not move).
 * Steps run in order, so handshakes and echo pairs build on earlier steps.
 *
 * Runs in its own network namespace with a dummy interface, so that a second
 * interface (link 1) exists for the asymmetric-path cases.
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <net/if.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "presage.h"
#include "ihm.skel.h"
#include "harness.h"
#include "pktbuild.h"

enum { XDP = 0, TC = 1 };

struct step {
	const char *name;
	int hook;
	int link;		/* 0: lo (link 0), 1: dummy (link 1), -1: unconfigured */
	struct pkt_spec s;
	int gso_segs;
	int sleep_ms;
	struct link_stats exp;	/* delta on link 0, bytes filled in automatically */
	struct link_stats exp1; /* delta on link 1 */
	int rtt0, rtt1;		/* new RTT samples expected in link 0 / link 1 histograms */
	int rtt_min_ms;		/* the new sample is at least this (sleep_ms of the pair) */
	int expect_flow;	/* 1: flow present after, -1: absent */
};

static struct ihm_bpf *skel;
static int ifindex_lo, ifindex_d;
static int ncpu;

#define L 40000
#define R 80

/*
 * Sleep between two TSvals out that must both be timed: the sampling limit
 * (10 ms) is measured on the coarse clock, which moves one tick (up to 10 ms
 * at HZ=100) at a time and may be read a tick late, so the gap is the limit
 * plus two ticks plus a margin.
 */
#define TS_GAP_MS 35

/* Shorthands for the flow of most steps. */
#define TCP_OUT(fl, sq, ak) .s = { .out = 1, .lport = L, .rport = R, .flags = fl, .seq = sq, .ack = ak
#define TCP_IN(fl, sq, ak) .s = { .out = 0, .lport = L, .rport = R, .flags = fl, .seq = sq, .ack = ak

static struct step steps[] = {
	/* --- traffic that is only counted --- */
	{ "udp4_rx", XDP, 0, { .proto = 17, .payload = 100 }, .exp = { .rx_packets = 1 } },
	{ "udp4_tx", TC, 0, { .proto = 17, .out = 1, .payload = 100 }, .exp = { .tx_packets = 1 } },
	{ "icmp4_tx", TC, 0, { .proto = 1, .out = 1, .payload = 56 }, .exp = { .tx_packets = 1 } },
	{ "udp6_rx", XDP, 0, { .v6 = 1, .proto = 17, .payload = 64 }, .exp = { .rx_packets = 1 } },
	{ "arp_rx_non_ip", XDP, 0, { .ethertype = 0x0806 }, .exp = { .rx_packets = 1, .non_ip = 1 } },
	{ "lldp_tx_non_ip", TC, 0, { .ethertype = 0x88cc }, .exp = { .tx_packets = 1, .non_ip = 1 } },
	{ "unconfigured_iface_untouched", XDP, -1, { .proto = 17, .payload = 10 } },
	{ "unconfigured_iface_tc_untouched", TC, -1, { .proto = 17, .out = 1, .payload = 10 } },
	/* --- L2 --- */
	{ "vlan_8021q_tcp_data", XDP, 0,
	  { .nvlan = 1, .lport = 1001, .rport = R, .flags = TH_ACK, .seq = 1, .payload = 100 },
	  .exp = { .rx_packets = 1, .rx_tcp_data = 1, .flows_created = 1 }, .expect_flow = 1 },
	{ "qinq_8021ad_tcp_data", XDP, 0,
	  { .nvlan = 2, .vlan_tpid = { 0x88a8, 0x8100 }, .lport = 1002, .rport = R,
	    .flags = TH_ACK, .seq = 1, .payload = 100 },
	  .exp = { .rx_packets = 1, .rx_tcp_data = 1, .flows_created = 1 } },
	{ "vlan_stack_of_3_bad_l2", XDP, 0, { .nvlan = 3, .lport = 1003, .rport = R, .payload = 10 },
	  .exp = { .rx_packets = 1, .bad_l2 = 1 } },
	{ "vlan_truncated_bad_l2", XDP, 0, { .nvlan = 1, .truncate = 16 },
	  .exp = { .rx_packets = 1, .bad_l2 = 1 } },
	/* --- IPv4 --- */
	{ "ipv4_truncated_header", XDP, 0, { .lport = 1004, .rport = R, .truncate = 14 + 12 },
	  .exp = { .rx_packets = 1, .bad_l3 = 1 } },
	{ "ipv4_ihl_below_5", XDP, 0, { .ihl = 4, .lport = 1005, .rport = R },
	  .exp = { .rx_packets = 1, .bad_l3 = 1 } },
	{ "ipv4_wrong_version", XDP, 0, { .ip_version = 6, .lport = 1006, .rport = R },
	  .exp = { .rx_packets = 1, .bad_l3 = 1 } },
	{ "ipv4_tot_len_past_packet", XDP, 0, { .tot_len_delta = 100, .lport = 1007, .rport = R },
	  .exp = { .rx_packets = 1, .bad_l3 = 1 } },
	{ "ipv4_tot_len_below_header", XDP, 0,
	  { .tot_len_delta = -30, .lport = 1008, .rport = R, .payload = 0 },
	  .exp = { .rx_packets = 1, .bad_l3 = 1 } },
	{ "ipv4_options_tcp_data", XDP, 0,
	  { .ip_opt_len = 12, .lport = 1009, .rport = R, .flags = TH_ACK, .seq = 5, .payload = 50 },
	  .exp = { .rx_packets = 1, .rx_tcp_data = 1, .flows_created = 1 } },
	{ "ipv4_options_truncated", XDP, 0,
	  { .ihl = 15, .lport = 1010, .rport = R, .truncate = 14 + 40 },
	  .exp = { .rx_packets = 1, .bad_l3 = 1 } },
	{ "ipv4_first_fragment", XDP, 0, { .frag_off = 0x2000, .lport = 1011, .rport = R, .payload = 30 },
	  .exp = { .rx_packets = 1, .ip_frag = 1 } },
	{ "ipv4_later_fragment", TC, 0, { .frag_off = 185, .out = 1, .proto = 17, .payload = 30 },
	  .exp = { .tx_packets = 1, .ip_frag = 1 } },
	{ "ipv4_dont_fragment_is_not_fragment", XDP, 0,
	  { .frag_off = 0x4000, .lport = 1012, .rport = R, .flags = TH_ACK, .seq = 9, .payload = 10 },
	  .exp = { .rx_packets = 1, .rx_tcp_data = 1, .flows_created = 1 } },
	/* --- IPv6 --- */
	{ "ipv6_truncated_header", XDP, 0, { .v6 = 1, .truncate = 14 + 30 },
	  .exp = { .rx_packets = 1, .bad_l3 = 1 } },
	{ "ipv6_payload_len_past_packet", XDP, 0, { .v6 = 1, .plen_delta = 8, .lport = 1013, .rport = R },
	  .exp = { .rx_packets = 1, .bad_l3 = 1 } },
	{ "ipv6_wrong_version", XDP, 0, { .v6 = 1, .ip_version = 4, .lport = 1014, .rport = R },
	  .exp = { .rx_packets = 1, .bad_l3 = 1 } },
	{ "ipv6_hop_dst_ext_tcp_data", XDP, 0,
	  { .v6 = 1, .next6 = 2, .ext_type = { 0, 60 }, .ext_len = { 8, 16 }, .lport = 1015,
	    .rport = R, .flags = TH_ACK, .seq = 1, .payload = 40 },
	  .exp = { .rx_packets = 1, .rx_tcp_data = 1, .flows_created = 1 } },
	{ "ipv6_auth_header_tcp_data", XDP, 0,
	  { .v6 = 1, .next6 = 1, .ext_type = { 51 }, .ext_len = { 24 }, .lport = 1016,
	    .rport = R, .flags = TH_ACK, .seq = 1, .payload = 40 },
	  .exp = { .rx_packets = 1, .rx_tcp_data = 1, .flows_created = 1 } },
	{ "ipv6_ext_chain_past_bound", XDP, 0,
	  { .v6 = 1, .next6 = 7, .ext_type = { 0, 60, 43, 60, 60, 60, 60 },
	    .ext_len = { 8, 8, 8, 8, 8, 8, 8 }, .lport = 1017, .rport = R, .payload = 10 },
	  .exp = { .rx_packets = 1, .ipv6_ext_overflow = 1 } },
	{ "ipv6_ext_chain_at_bound_parsed", XDP, 0,
	  { .v6 = 1, .next6 = 6, .ext_type = { 0, 60, 43, 60, 60, 60 },
	    .ext_len = { 8, 8, 8, 8, 8, 8 }, .lport = 1018, .rport = R, .flags = TH_ACK,
	    .seq = 1, .payload = 10 },
	  .exp = { .rx_packets = 1, .rx_tcp_data = 1, .flows_created = 1 } },
	{ "ipv6_fragment_offset", XDP, 0,
	  { .v6 = 1, .next6 = 1, .ext_type = { 44 }, .ext_len = { 8 }, .frag6_off = 8 << 3,
	    .lport = 1019, .rport = R, .payload = 10 },
	  .exp = { .rx_packets = 1, .ip_frag = 1 } },
	{ "ipv6_fragment_more_flag", TC, 0,
	  { .v6 = 1, .out = 1, .next6 = 1, .ext_type = { 44 }, .ext_len = { 8 }, .frag6_off = 1,
	    .lport = 1020, .rport = R, .payload = 10 },
	  .exp = { .tx_packets = 1, .ip_frag = 1 } },
	{ "ipv6_atomic_fragment_parsed", XDP, 0,
	  { .v6 = 1, .next6 = 1, .ext_type = { 44 }, .ext_len = { 8 }, .frag6_off = 0,
	    .lport = 1021, .rport = R, .flags = TH_ACK, .seq = 1, .payload = 10 },
	  .exp = { .rx_packets = 1, .rx_tcp_data = 1, .flows_created = 1 } },
	{ "ipv6_ext_len_past_payload", XDP, 0,
	  { .v6 = 1, .next6 = 1, .ext_type = { 60 }, .ext_len = { 8 }, .plen_delta = -24,
	    .lport = 1022, .rport = R, .payload = 0 },
	  .exp = { .rx_packets = 1, .bad_l3 = 1 } },
	{ "ipv6_ext_header_truncated", XDP, 0,
	  { .v6 = 1, .next6 = 1, .ext_type = { 43 }, .ext_len = { 64 }, .lport = 1023,
	    .rport = R, .truncate = 14 + 40 + 1 },
	  .exp = { .rx_packets = 1, .bad_l3 = 1 } },
	/* --- TCP header --- */
	{ "tcp_truncated_header", XDP, 0, { .lport = 1024, .rport = R, .truncate = 14 + 20 + 10 },
	  .exp = { .rx_packets = 1, .bad_l3 = 1 } },
	{ "tcp_truncated_header_consistent_ip", XDP, 0,
	  { .lport = 1025, .rport = R, .tot_len_delta = -10, .truncate = 14 + 20 + 10 },
	  .exp = { .rx_packets = 1, .bad_l4 = 1 } },
	{ "tcp_doff_below_5", XDP, 0, { .lport = 1026, .rport = R, .doff = 4, .payload = 20 },
	  .exp = { .rx_packets = 1, .bad_l4 = 1 } },
	{ "tcp_doff_past_segment", XDP, 0, { .lport = 1027, .rport = R, .doff = 15, .payload = 4 },
	  .exp = { .rx_packets = 1, .bad_l4 = 1 } },
	{ "tcp_option_zero_length", XDP, 0,
	  { .lport = 1028, .rport = R, .flags = TH_ACK, .opts = { 5, 0, 1, 1 }, .optlen = 4,
	    .payload = 10 },
	  .exp = { .rx_packets = 1, .bad_l4 = 1 } },
	{ "tcp_option_length_past_options", XDP, 0,
	  { .lport = 1029, .rport = R, .flags = TH_ACK, .opts = { 1, 1, 5, 30 }, .optlen = 4,
	    .payload = 10 },
	  .exp = { .rx_packets = 1, .bad_l4 = 1 } },
	{ "tcp_ts_option_wrong_length", XDP, 0,
	  { .lport = 1030, .rport = R, .flags = TH_ACK, .opts = { 8, 6, 0, 0, 0, 0, 1, 1 },
	    .optlen = 8, .payload = 10 },
	  .exp = { .rx_packets = 1, .bad_l4 = 1 } },
	{ "tcp_40_nops_walk_bound", XDP, 0,
	  { .lport = 1031, .rport = R, .flags = TH_ACK, .seq = 1,
	    .opts = { [0 ... 39] = 1 }, .optlen = 40, .payload = 10 },
	  .exp = { .rx_packets = 1, .rx_tcp_data = 1, .tcpopt_overflow = 1, .flows_created = 1 } },
	{ "tcp_eol_then_garbage_ok", XDP, 0,
	  { .lport = 1032, .rport = R, .flags = TH_ACK, .seq = 1, .opts = { 0, 0xff, 0xff, 0xff },
	    .optlen = 4, .payload = 10 },
	  .exp = { .rx_packets = 1, .rx_tcp_data = 1, .flows_created = 1 } },
	/* --- outward connection: SYN out, SYN-ACK in --- */
	{ "hs_out_syn", TC, 0, { .out = 1, .lport = 2000, .rport = R, .flags = TH_SYN, .seq = 1000 },
	  .exp = { .tx_packets = 1, .flows_created = 1 }, .expect_flow = 1 },
	{ "hs_out_synack_sample", XDP, 0,
	  { .lport = 2000, .rport = R, .flags = TH_SYN | TH_ACK, .seq = 5000, .ack = 1001 },
	  .sleep_ms = 20, .exp = { .rx_packets = 1, .rtt_hs_samples = 1 }, .rtt0 = 1,
	  .rtt_min_ms = 20 },
	{ "hs_out_synack_again_no_sample", XDP, 0,
	  { .lport = 2000, .rport = R, .flags = TH_SYN | TH_ACK, .seq = 5000, .ack = 1001 },
	  .exp = { .rx_packets = 1 } },
	/* --- timestamps: TSval out, echo in --- */
	{ "ts_out_data", TC, 0,
	  { .out = 1, .lport = 2000, .rport = R, .flags = TH_ACK, .seq = 1001, .ack = 5001,
	    .payload = 100, .opts = { 1, 1, 8, 10, 0, 0, 0, 100, 0, 0, 0, 7 }, .optlen = 12 },
	  .exp = { .tx_packets = 1, .tx_tcp_data = 1 } },
	{ "ts_in_wrong_echo_no_sample", XDP, 0,
	  { .lport = 2000, .rport = R, .flags = TH_ACK, .seq = 5001, .ack = 1101,
	    .opts = { 1, 1, 8, 10, 0, 0, 0, 8, 0, 0, 0, 99 }, .optlen = 12 },
	  .exp = { .rx_packets = 1 } },
	{ "ts_in_echo_sample", XDP, 0,
	  { .lport = 2000, .rport = R, .flags = TH_ACK, .seq = 5001, .ack = 1101,
	    .opts = { 1, 1, 8, 10, 0, 0, 0, 8, 0, 0, 0, 100 }, .optlen = 12 },
	  .sleep_ms = 15, .exp = { .rx_packets = 1, .rtt_ts_samples = 1 }, .rtt0 = 1,
	  .rtt_min_ms = 15 },
	{ "ts_in_echo_twice_one_sample", XDP, 0,
	  { .lport = 2000, .rport = R, .flags = TH_ACK, .seq = 5001, .ack = 1101,
	    .opts = { 1, 1, 8, 10, 0, 0, 0, 8, 0, 0, 0, 100 }, .optlen = 12 },
	  .exp = { .rx_packets = 1 } },
	{ "ts_out_new_val", TC, 0,
	  { .out = 1, .lport = 2000, .rport = R, .flags = TH_ACK, .seq = 1101, .ack = 5001,
	    .payload = 100, .opts = { 1, 1, 8, 10, 0, 0, 0, 200, 0, 0, 0, 8 }, .optlen = 12 },
	  .sleep_ms = TS_GAP_MS, .exp = { .tx_packets = 1, .tx_tcp_data = 1 } },
	{ "ts_out_within_interval_skipped", TC, 0,
	  { .out = 1, .lport = 2000, .rport = R, .flags = TH_ACK, .seq = 1201, .ack = 5001,
	    .payload = 100, .opts = { 1, 1, 8, 10, 0, 0, 0, 201, 0, 0, 0, 8 }, .optlen = 12 },
	  .exp = { .tx_packets = 1, .tx_tcp_data = 1, .ts_sampled_skip = 1 } },
	{ "ts_echo_from_same_side_no_sample", TC, 0,
	  { .out = 1, .lport = 2000, .rport = R, .flags = TH_ACK, .seq = 1301, .ack = 5001,
	    .opts = { 1, 1, 8, 10, 0, 0, 0, 200, 0, 0, 0, 200 }, .optlen = 12 },
	  .exp = { .tx_packets = 1 } },
	/* --- asymmetric path: echo of the TSval sent on link 0 comes in on link 1 --- */
	{ "ts_in_other_link_credited_to_egress", XDP, 1,
	  { .lport = 2000, .rport = R, .flags = TH_ACK, .seq = 5001, .ack = 1201,
	    .opts = { 1, 1, 8, 10, 0, 0, 0, 9, 0, 0, 0, 200 }, .optlen = 12 },
	  .exp = { .rtt_ts_samples = 1, .rtt_asym = 1 }, .exp1 = { .rx_packets = 1 }, .rtt0 = 1,
	  .rtt_min_ms = 12 },
	/*
	 * --- one timed TSval at a time: a newer one does not replace it while
	 * its echo may still come (RTT above the sampling interval), and an echo
	 * of a later TSval ends the wait without a sample ---
	 */
	{ "ts_out_timed", TC, 0,
	  { .out = 1, .lport = 2000, .rport = R, .flags = TH_ACK, .seq = 1301, .ack = 5001,
	    .opts = { 1, 1, 8, 10, 0, 0, 1, 0x2c, 0, 0, 0, 9 }, .optlen = 12 }, /* TSval 300 */
	  .sleep_ms = TS_GAP_MS, .exp = { .tx_packets = 1 } },
	{ "ts_out_newer_waits_for_pending_echo", TC, 0,
	  { .out = 1, .lport = 2000, .rport = R, .flags = TH_ACK, .seq = 1301, .ack = 5001,
	    .opts = { 1, 1, 8, 10, 0, 0, 1, 0x2d, 0, 0, 0, 9 }, .optlen = 12 }, /* TSval 301 */
	  .sleep_ms = TS_GAP_MS, .exp = { .tx_packets = 1, .ts_sampled_skip = 1 } },
	{ "ts_in_echo_longer_than_interval_sample", XDP, 0,
	  { .lport = 2000, .rport = R, .flags = TH_ACK, .seq = 5001, .ack = 1301,
	    .opts = { 1, 1, 8, 10, 0, 0, 0, 9, 0, 0, 1, 0x2c }, .optlen = 12 }, /* TSecr 300 */
	  .exp = { .rx_packets = 1, .rtt_ts_samples = 1 }, .rtt0 = 1, .rtt_min_ms = TS_GAP_MS },
	{ "ts_out_timed_again", TC, 0,
	  { .out = 1, .lport = 2000, .rport = R, .flags = TH_ACK, .seq = 1301, .ack = 5001,
	    .opts = { 1, 1, 8, 10, 0, 0, 1, 0x90, 0, 0, 0, 9 }, .optlen = 12 }, /* TSval 400 */
	  .sleep_ms = TS_GAP_MS, .exp = { .tx_packets = 1 } },
	{ "ts_in_later_echo_ends_wait_no_sample", XDP, 0,
	  { .lport = 2000, .rport = R, .flags = TH_ACK, .seq = 5001, .ack = 1301,
	    .opts = { 1, 1, 8, 10, 0, 0, 0, 9, 0, 0, 1, 0x91 }, .optlen = 12 }, /* TSecr 401 */
	  .exp = { .rx_packets = 1 } },
	{ "ts_out_timed_after_wait_ended", TC, 0,
	  { .out = 1, .lport = 2000, .rport = R, .flags = TH_ACK, .seq = 1301, .ack = 5001,
	    .opts = { 1, 1, 8, 10, 0, 0, 1, 0x92, 0, 0, 0, 9 }, .optlen = 12 }, /* TSval 402 */
	  .sleep_ms = TS_GAP_MS, .exp = { .tx_packets = 1 } },
	{ "ts_in_echo_after_wait_ended_sample", XDP, 0,
	  { .lport = 2000, .rport = R, .flags = TH_ACK, .seq = 5001, .ack = 1301,
	    .opts = { 1, 1, 8, 10, 0, 0, 0, 9, 0, 0, 1, 0x92 }, .optlen = 12 }, /* TSecr 402 */
	  .exp = { .rx_packets = 1, .rtt_ts_samples = 1 }, .rtt0 = 1 },
	/* --- loss --- */
	{ "retrans_tx_same_seq", TC, 0,
	  { .out = 1, .lport = 2000, .rport = R, .flags = TH_ACK, .seq = 1101, .ack = 5001,
	    .payload = 100 },
	  .exp = { .tx_packets = 1, .tx_tcp_data = 1, .tx_tcp_retrans = 1 } },
	{ "retrans_tx_partial_overlap", TC, 0,
	  { .out = 1, .lport = 2000, .rport = R, .flags = TH_ACK, .seq = 1251, .ack = 5001,
	    .payload = 100 },
	  .exp = { .tx_packets = 1, .tx_tcp_data = 1, .tx_tcp_retrans = 1 } },
	{ "new_data_after_overlap_not_retrans", TC, 0,
	  { .out = 1, .lport = 2000, .rport = R, .flags = TH_ACK, .seq = 1351, .ack = 5001,
	    .payload = 100 },
	  .exp = { .tx_packets = 1, .tx_tcp_data = 1 } },
	{ "pure_ack_is_not_data", TC, 0,
	  { .out = 1, .lport = 2000, .rport = R, .flags = TH_ACK, .seq = 1451, .ack = 5001 },
	  .exp = { .tx_packets = 1 } },
	{ "rx_data_first", XDP, 0,
	  { .lport = 2000, .rport = R, .flags = TH_ACK, .seq = 5001, .ack = 1451, .payload = 500 },
	  .exp = { .rx_packets = 1, .rx_tcp_data = 1 } },
	{ "rx_data_retrans", XDP, 0,
	  { .lport = 2000, .rport = R, .flags = TH_ACK, .seq = 5001, .ack = 1451, .payload = 500 },
	  .exp = { .rx_packets = 1, .rx_tcp_data = 1, .rx_tcp_retrans = 1 } },
	{ "seq_wrap_new_data_not_retrans_1", XDP, 0,
	  { .lport = 2001, .rport = R, .flags = TH_ACK, .seq = 0xffffff00u, .payload = 0x80 },
	  .exp = { .rx_packets = 1, .rx_tcp_data = 1, .flows_created = 1 } },
	{ "seq_wrap_new_data_not_retrans_2", XDP, 0,
	  { .lport = 2001, .rport = R, .flags = TH_ACK, .seq = 0xffffff80u, .payload = 0x100 },
	  .exp = { .rx_packets = 1, .rx_tcp_data = 1 } },
	{ "seq_wrap_retrans_detected", XDP, 0,
	  { .lport = 2001, .rport = R, .flags = TH_ACK, .seq = 0xffffffc0u, .payload = 0x40 },
	  .exp = { .rx_packets = 1, .rx_tcp_data = 1, .rx_tcp_retrans = 1 } },
	/* Transit: in by link 1 (XDP), out by link 0 (tc), the same segment. */
	{ "transit_in_by_link1", XDP, 1,
	  { .lport = 2002, .rport = R, .flags = TH_ACK, .seq = 7001, .ack = 9001, .payload = 100 },
	  .exp1 = { .rx_packets = 1, .rx_tcp_data = 1, .flows_created = 1 } },
	{ "transit_out_by_link0_same_segment_not_retrans", TC, 0,
	  { .lport = 2002, .rport = R, .flags = TH_ACK, .seq = 7001, .ack = 9001, .payload = 100 },
	  .exp = { .tx_packets = 1, .tx_tcp_data = 1 } },
	{ "transit_retrans_in_by_link1", XDP, 1,
	  { .lport = 2002, .rport = R, .flags = TH_ACK, .seq = 7001, .ack = 9001, .payload = 100 },
	  .exp1 = { .rx_packets = 1, .rx_tcp_data = 1, .rx_tcp_retrans = 1 } },
	{ "transit_retrans_out_by_link0", TC, 0,
	  { .lport = 2002, .rport = R, .flags = TH_ACK, .seq = 7001, .ack = 9001, .payload = 100 },
	  .exp = { .tx_packets = 1, .tx_tcp_data = 1, .tx_tcp_retrans = 1 } },
	{ "gso_tx_counts_segments", TC, 0,
	  { .out = 1, .lport = 2000, .rport = R, .flags = TH_ACK, .seq = 1451, .ack = 5501,
	    .payload = 1000 },
	  .gso_segs = 4, .exp = { .tx_packets = 4, .tx_tcp_data = 4 } },
	/* --- inward connection: SYN in, SYN-ACK out, ACK in --- */
	{ "hs_in_syn", XDP, 0, { .lport = 3000, .rport = R, .flags = TH_SYN, .seq = 77 },
	  .exp = { .rx_packets = 1, .flows_created = 1 } },
	{ "hs_in_synack_out", TC, 0,
	  { .out = 1, .lport = 3000, .rport = R, .flags = TH_SYN | TH_ACK, .seq = 9000, .ack = 78 },
	  .exp = { .tx_packets = 1 } },
	{ "hs_in_ack_wrong_number_no_sample", XDP, 0,
	  { .lport = 3000, .rport = R, .flags = TH_ACK, .seq = 78, .ack = 9005 },
	  .exp = { .rx_packets = 1 } },
	{ "hs_in_ack_sample", XDP, 0, { .lport = 3000, .rport = R, .flags = TH_ACK, .seq = 78, .ack = 9001 },
	  .sleep_ms = 10, .exp = { .rx_packets = 1, .rtt_hs_samples = 1 }, .rtt0 = 1,
	  .rtt_min_ms = 10 },
	/* --- Karn: a repeated SYN gives no sample --- */
	{ "karn_syn_1", TC, 0, { .out = 1, .lport = 4000, .rport = R, .flags = TH_SYN, .seq = 1 },
	  .exp = { .tx_packets = 1, .flows_created = 1 } },
	{ "karn_syn_2", TC, 0, { .out = 1, .lport = 4000, .rport = R, .flags = TH_SYN, .seq = 1 },
	  .exp = { .tx_packets = 1 } },
	{ "karn_synack_no_sample", XDP, 0,
	  { .lport = 4000, .rport = R, .flags = TH_SYN | TH_ACK, .seq = 1, .ack = 2 },
	  .exp = { .rx_packets = 1 } },
	/* --- IPv6 handshake --- */
	{ "ipv6_hs_syn_out", TC, 0, { .v6 = 1, .out = 1, .lport = 5000, .rport = R, .flags = TH_SYN, .seq = 1 },
	  .exp = { .tx_packets = 1, .flows_created = 1 } },
	{ "ipv6_hs_synack_in_sample", XDP, 0,
	  { .v6 = 1, .lport = 5000, .rport = R, .flags = TH_SYN | TH_ACK, .seq = 1, .ack = 2 },
	  .sleep_ms = 5, .exp = { .rx_packets = 1, .rtt_hs_samples = 1 }, .rtt0 = 1, .rtt_min_ms = 5 },
	/* --- timestamp layouts other than NOP NOP TS: the option walk --- */
	{ "ts_layout_ts_first_new_flow_out", TC, 0,
	  { .out = 1, .lport = 7000, .rport = R, .flags = TH_ACK, .seq = 1, .payload = 100,
	    .opts = { 8, 10, 0, 0, 1, 44, 0, 0, 0, 3, 1, 1 }, .optlen = 12 },
	  .exp = { .tx_packets = 1, .tx_tcp_data = 1, .flows_created = 1 }, .expect_flow = 1 },
	{ "ts_layout_sack_then_ts_echo_pure_ack_sample", XDP, 0,
	  { .lport = 7000, .rport = R, .flags = TH_ACK, .seq = 9, .ack = 101,
	    .opts = { 1, 1, 5, 10, 0, 0, 0, 1, 0, 0, 0, 2, 1, 1, 8, 10, 0, 0, 0, 5, 0, 0, 1, 44 },
	    .optlen = 24 },
	  .sleep_ms = 4, .exp = { .rx_packets = 1, .rtt_ts_samples = 1 }, .rtt0 = 1,
	  .rtt_min_ms = 4 },
	{ "ts_layout_nop_nop_ts_truncated_option_bad", XDP, 0,
	  { .lport = 7001, .rport = R, .flags = TH_ACK, .seq = 1,
	    .opts = { 1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2 }, .optlen = 12, .doff = 7 },
	  .exp = { .rx_packets = 1, .bad_l4 = 1 } },
	{ "ts_canonical_new_flow_out_then_echo", TC, 0,
	  { .out = 1, .lport = 7002, .rport = R, .flags = TH_ACK, .seq = 1,
	    .opts = { 1, 1, 8, 10, 0, 0, 0x30, 0x39, 0, 0, 0, 1 }, .optlen = 12 },
	  .exp = { .tx_packets = 1, .flows_created = 1 } },
	{ "ts_canonical_echo_sample", XDP, 0,
	  { .lport = 7002, .rport = R, .flags = TH_ACK, .seq = 1, .ack = 1, .payload = 200,
	    .opts = { 1, 1, 8, 10, 0, 0, 0, 9, 0, 0, 0x30, 0x39 }, .optlen = 12 },
	  .sleep_ms = 3, .exp = { .rx_packets = 1, .rx_tcp_data = 1, .rtt_ts_samples = 1 },
	  .rtt0 = 1, .rtt_min_ms = 3 },
	{ "new_flow_syn_in_created", XDP, 0,
	  { .lport = 7003, .rport = R, .flags = TH_SYN, .seq = 500 },
	  .exp = { .rx_packets = 1, .flows_created = 1 } },
	{ "new_flow_rst_in_only_no_flow", TC, 0,
	  { .out = 1, .lport = 7004, .rport = R, .flags = TH_RST, .seq = 1 },
	  .exp = { .tx_packets = 1 }, .expect_flow = -1 },
	/* --- RST ends the flow --- */
	{ "rst_deletes_flow", XDP, 0, { .lport = 2000, .rport = R, .flags = TH_RST | TH_ACK, .seq = 5501 },
	  .exp = { .rx_packets = 1, .flows_closed = 1 }, .expect_flow = -1 },
	{ "rst_unknown_flow_no_state", XDP, 0, { .lport = 2999, .rport = R, .flags = TH_RST, .seq = 1 },
	  .exp = { .rx_packets = 1 }, .expect_flow = -1 },
};

/* What the agent does (user/dataplane.c): links_cfg first, then the slot. */
static void set_link(int ifindex, __u32 id)
{
	struct link_cfg lc = { .link_id = id };
	struct link_slot ls = { .ifindex = ifindex, .link_id = id };
	__u32 k = ifindex, slot = link_slot_of(ifindex);

	bpf_map_update_elem(bpf_map__fd(skel->maps.links_cfg), &k, &lc, BPF_ANY);
	bpf_map_update_elem(bpf_map__fd(skel->maps.link_slots), &slot, &ls, BPF_ANY);
}

static void clear_link(int ifindex)
{
	struct link_slot empty = {};
	__u32 k = ifindex, slot = link_slot_of(ifindex);

	bpf_map_update_elem(bpf_map__fd(skel->maps.link_slots), &slot, &empty, BPF_ANY);
	bpf_map_delete_elem(bpf_map__fd(skel->maps.links_cfg), &k);
}

static void sum_stats(int link, struct link_stats *out)
{
	struct link_stats vals[ncpu];
	__u32 key = link;
	__u64 *o = (__u64 *)out;

	memset(out, 0, sizeof(*out));
	if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.link_stats), &key, vals))
		return;
	for (int c = 0; c < ncpu; c++) {
		__u64 *v = (__u64 *)&vals[c];

		for (size_t i = 0; i < sizeof(*out) / 8; i++)
			o[i] += v[i];
	}
}

/* The newest sample cannot be read back alone; read count and the window max. */
static void hist_state(int link, __u64 *count, __u64 *max_ns)
{
	static struct rtt_hist *vals;
	__u32 key = link;

	if (!vals)
		vals = calloc(ncpu, sizeof(*vals));
	*count = 0;
	*max_ns = 0;
	if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.rtt_hist), &key, vals))
		return;
	for (int c = 0; c < ncpu; c++) {
		*count += vals[c].count;
		if (vals[c].max_ns > *max_ns)
			*max_ns = vals[c].max_ns;
	}
}

static const char *const field_names[] = {
	"rx_packets", "rx_bytes", "tx_packets", "tx_bytes", "rx_tcp_data", "rx_tcp_retrans",
	"tx_tcp_data", "tx_tcp_retrans", "rtt_ts_samples", "rtt_hs_samples", "rtt_asym",
	"non_ip", "ip_frag", "bad_l2", "bad_l3", "bad_l4", "ipv6_ext_overflow",
	"tcpopt_overflow", "flows_created", "flow_insert_fail", "flows_closed", "ts_sampled_skip",
};
_Static_assert(sizeof(field_names) / sizeof(field_names[0]) == sizeof(struct link_stats) / 8,
	       "field_names must list every link_stats field");

static int compare(const char *step, int link, const struct link_stats *before,
		   const struct link_stats *after, const struct link_stats *exp)
{
	const __u64 *b = (const __u64 *)before, *a = (const __u64 *)after, *e = (const __u64 *)exp;
	int bad = 0;

	for (size_t i = 0; i < sizeof(*exp) / 8; i++) {
		if (a[i] - b[i] != e[i]) {
			printf("  %s: link %d %s: expected +%llu, got +%llu\n", step, link,
			       field_names[i], (unsigned long long)e[i],
			       (unsigned long long)(a[i] - b[i]));
			bad++;
		}
	}
	return bad;
}

static int flow_present(const struct pkt_spec *s)
{
	struct flow_key k = {}, next;
	int fd = bpf_map__fd(skel->maps.flows), found = 0;
	void *prev = NULL;
	__be16 lp = htons(s->lport);

	/* Any flow with the local port of this spec. */
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		if (next.port[0] == lp || next.port[1] == lp)
			found = 1;
		k = next;
		prev = &k;
	}
	return found;
}

static int run_step(struct step *st)
{
	uint8_t pkt[PB_MAX];
	struct link_stats b0, b1, a0, a1, exp = st->exp;
	struct xdp_md xctx = {};
	struct __sk_buff sctx = {};
	__u64 c0, c1, m0, m1, c0a, c1a, m0a, m1a;
	int len, err, bad = 0, fd, ifindex;
	LIBBPF_OPTS(bpf_test_run_opts, opts);

	len = pb_build(&st->s, pkt);
	ifindex = st->link == 1 ? ifindex_d : ifindex_lo;
	if (st->sleep_ms)
		usleep(st->sleep_ms * 1000);
	if (st->link < 0)
		clear_link(ifindex);
	sum_stats(0, &b0);
	sum_stats(1, &b1);
	hist_state(0, &c0, &m0);
	hist_state(1, &c1, &m1);

	opts.data_in = pkt;
	opts.data_size_in = len;
	if (st->hook == XDP) {
		xctx.ingress_ifindex = ifindex;
		xctx.data_end = len; /* test_run wants the frame size here */
		opts.ctx_in = &xctx;
		opts.ctx_size_in = sizeof(xctx);
		fd = bpf_program__fd(skel->progs.presage_xdp);
	} else {
		sctx.ifindex = ifindex;
		sctx.gso_segs = st->gso_segs;
		if (st->gso_segs)
			sctx.gso_size = 1000;
		opts.ctx_in = &sctx;
		opts.ctx_size_in = sizeof(sctx);
		fd = bpf_program__fd(skel->progs.presage_tc);
	}
	err = bpf_prog_test_run_opts(fd, &opts);
	if (err) {
		printf("  %s: bpf_prog_test_run_opts: %s\n", st->name, strerror(-err));
		return 1;
	}
	if (st->hook == XDP)
		bad += !ASSERT_EQ(opts.retval, XDP_PASS, "XDP verdict");
	else
		bad += !ASSERT_EQ((int)opts.retval, -1, "tc verdict (TC_ACT_UNSPEC)");

	/* Bytes follow packets: what the link carried. */
	if (exp.rx_packets)
		exp.rx_bytes = len;
	if (exp.tx_packets)
		exp.tx_bytes = st->gso_segs > 1 ? (unsigned)(len + (st->gso_segs - 1) * (len - st->s.payload))
						 : (unsigned)len;
	struct link_stats exp1 = st->exp1;
	if (exp1.rx_packets)
		exp1.rx_bytes = len;
	if (exp1.tx_packets)
		exp1.tx_bytes = len;

	sum_stats(0, &a0);
	sum_stats(1, &a1);
	bad += compare(st->name, 0, &b0, &a0, &exp);
	bad += compare(st->name, 1, &b1, &a1, &exp1);
	hist_state(0, &c0a, &m0a);
	hist_state(1, &c1a, &m1a);
	bad += !ASSERT_EQ(c0a - c0, st->rtt0, "new RTT samples on link 0");
	bad += !ASSERT_EQ(c1a - c1, st->rtt1, "new RTT samples on link 1");
	if (st->rtt_min_ms) {
		/* The max so far is at least this step's sample; samples are real time. */
		bad += !ASSERT_TRUE(m0a >= (__u64)st->rtt_min_ms * 1000000ULL,
				    "RTT sample at least the sleep between the pair");
		bad += !ASSERT_TRUE(m0a < 2000000000ULL, "RTT sample below 2 s");
	}
	if (st->expect_flow)
		bad += !ASSERT_EQ(flow_present(&st->s), st->expect_flow > 0, "flow in table");
	if (st->link < 0)
		set_link(ifindex, 0);
	return bad;
}

static void test_hist_window(void)
{
	/* Window min/max restart when the tick generation changes. */
	struct rtt_hist *vals = calloc(ncpu, sizeof(*vals));
	struct presage_cfg cfg = { .tick_gen = 42 };
	__u32 zero = 0, key = 0;
	struct step s1 = { "win_syn", TC, 0,
			   { .out = 1, .lport = 6000, .rport = R, .flags = TH_SYN, .seq = 1 },
			   .exp = { .tx_packets = 1, .flows_created = 1 } };
	struct step s2 = { "win_synack", XDP, 0,
			   { .lport = 6000, .rport = R, .flags = TH_SYN | TH_ACK, .seq = 1, .ack = 2 },
			   .sleep_ms = 3, .exp = { .rx_packets = 1, .rtt_hs_samples = 1 }, .rtt0 = 1,
			   .rtt_min_ms = 3 };
	int found = 0;

	bpf_map_update_elem(bpf_map__fd(skel->maps.presage_cfg), &zero, &cfg, BPF_ANY);
	ASSERT_EQ(run_step(&s1), 0, "syn step");
	ASSERT_EQ(run_step(&s2), 0, "synack step");
	bpf_map_lookup_elem(bpf_map__fd(skel->maps.rtt_hist), &key, vals);
	for (int c = 0; c < ncpu; c++) {
		if (vals[c].win_gen != 42)
			continue;
		found++;
		ASSERT_TRUE(vals[c].win_min_ns >= 3000000 && vals[c].win_min_ns < 1000000000,
			    "window min is the new sample");
		ASSERT_EQ(vals[c].win_min_ns, vals[c].win_max_ns, "one sample: min == max");
	}
	ASSERT_EQ(found, 1, "one CPU took the sample in the new window");
	free(vals);
}

/* A packet is credited to the link its slot names: the slot is what the programs read. */
static void test_link_slot_is_read(void)
{
	struct link_slot ls = { .ifindex = ifindex_lo, .link_id = 1 };
	__u32 slot = link_slot_of(ifindex_lo);
	struct step s = { "slot_names_link_1", XDP, 0, { .proto = 17, .payload = 20 },
			  .exp1 = { .rx_packets = 1 } };

	bpf_map_update_elem(bpf_map__fd(skel->maps.link_slots), &slot, &ls, BPF_ANY);
	ASSERT_EQ(run_step(&s), 0, "packet on lo counted on the slot's link 1, not links_cfg's 0");
	set_link(ifindex_lo, 0);
}

/*
 * Another interface in the slot (an ifindex PRESAGE_LINK_SLOTS away): the
 * programs must find this one in links_cfg, for both hooks.
 */
static void test_link_slot_collision_falls_back(void)
{
	struct link_slot other = { .ifindex = ifindex_d + PRESAGE_LINK_SLOTS, .link_id = 0 };
	__u32 slot = link_slot_of(ifindex_d);
	struct step rx = { "collision_rx", XDP, 1, { .proto = 17, .payload = 20 },
			   .exp1 = { .rx_packets = 1 } };
	struct step tx = { "collision_tx", TC, 1, { .proto = 17, .out = 1, .payload = 20 },
			   .exp1 = { .tx_packets = 1 } };

	bpf_map_update_elem(bpf_map__fd(skel->maps.link_slots), &slot, &other, BPF_ANY);
	ASSERT_EQ(run_step(&rx), 0, "XDP: link 1 from links_cfg");
	ASSERT_EQ(run_step(&tx), 0, "tc: link 1 from links_cfg");
	clear_link(ifindex_d);
	struct step gone = { "collision_unconfigured", XDP, 1, { .proto = 17, .payload = 20 } };
	bpf_map_update_elem(bpf_map__fd(skel->maps.link_slots), &slot, &other, BPF_ANY);
	ASSERT_EQ(run_step(&gone), 0, "neither slot nor links_cfg: untouched");
	set_link(ifindex_d, 1);
}

static int setup_netns(void)
{
	if (unshare(CLONE_NEWNET)) {
		printf("unshare(CLONE_NEWNET): %s\n", strerror(errno));
		return -1;
	}
	if (system("ip link set lo up && ip link add pdummy0 type veth peer name pdummy1 && ip link set pdummy0 up && ip link set pdummy1 up"))
		return -1;
	ifindex_lo = if_nametoindex("lo");
	ifindex_d = if_nametoindex("pdummy0");
	return ifindex_lo && ifindex_d ? 0 : -1;
}

int main(void)
{
	struct bpf_map *map;
	int err, nsteps = sizeof(steps) / sizeof(steps[0]);

	if (setup_netns())
		return 1;
	ncpu = libbpf_num_possible_cpus();
	skel = ihm_bpf__open();
	if (!skel) {
		printf("FAIL: open: %s\n", strerror(errno));
		return 1;
	}
	/* A private copy of the maps: no pinning, nothing shared with a running agent. */
	bpf_object__for_each_map(map, skel->obj)
		bpf_map__set_pin_path(map, NULL);
	err = ihm_bpf__load(skel);
	if (err) {
		printf("FAIL: load (verifier): %s\n", strerror(-err));
		return 1;
	}
	printf("PASS: load_through_verifier\n");
	set_link(ifindex_lo, 0);
	set_link(ifindex_d, 1);

	for (int i = 0; i < nsteps; i++) {
		harness_cur_failed = 0;
		int bad = run_step(&steps[i]);

		RESULT(steps[i].name, bad + harness_cur_failed);
	}
	printf("# %d packet steps\n", nsteps);
	RUN(test_hist_window);
	RUN(test_link_slot_is_read);
	RUN(test_link_slot_collision_falls_back);
	ihm_bpf__destroy(skel);
	return harness_exit();
}
