// SPDX-License-Identifier: GPL-2.0-only
/*
 * presage dns: steer a name (set/show/clear), or send a raw RFC 2136
 * update or a query, against the authoritative primary.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "dns/dns.h"
#include "log.h"

#define MAX_ZONES 16
#define MAX_OPS 4096

struct opts {
	struct dns_client_opts co;
	char server[64];
	const char *keyfile, *keyname;
	struct dns_key key;
	struct dns_name zones[MAX_ZONES];
	size_t nzones;
	uint32_t ttl;
	struct dns_flag_field flag[DNS_FLAG_FIELDS_MAX];
	size_t nflag;
	bool no_split;
	bool no_flag;
	bool zones_from_config; /* a --zone replaces the file's zones */
	struct dns_config cfg;	/* --config FILE; its fields are defaults for the options */
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: presage dns set NAME ADDR... [--flag KEY=VALUE]... [--no-flag] [--ttl SECONDS]\n"
		"       presage dns show NAME\n"
		"       presage dns clear NAME\n"
		"       presage dns update OP...      (raw RFC 2136 update; split per zone)\n"
		"       presage dns query NAME TYPE\n"
		"Options (all commands):\n"
		"  --config FILE         server, port, zones, key and ttl from FILE (dns/config.c's\n"
		"                        format: server, port, zone, key-file, key-name, ttl, name);\n"
		"                        options given on the command line override the file\n"
		"  --server ADDR[#PORT]  authoritative primary (numeric address; default 127.0.0.1)\n"
		"  --port PORT           server port (default 53)\n"
		"  --zone ZONE           zone to update (repeat for several; default: found by SOA)\n"
		"  --key FILE            TSIG key file from tsig-keygen or keymgr -t\n"
		"  --key-name NAME       which key in FILE (default: the first)\n"
		"  --ttl SECONDS         TTL of steered records (default 30)\n"
		"  --timeout MS          first try's timeout, doubled per retry (default 1000)\n"
		"  --retries N           retries after the first try (default 2)\n"
		"  --tcp                 use TCP only (one connection for all messages)\n"
		"  --no-edns             send no EDNS(0) OPT record\n"
		"  --fudge SECONDS       TSIG fudge (default 300)\n"
		"  --time-offset SECONDS add to our clock when signing (testing)\n"
		"  --no-split            update: put every op in the first --zone (testing NOTZONE)\n"
		"  --no-flag             set: remove the mirroring flag (steer back to the primary)\n"
		"  -j, --json            JSON output\n"
		"Update OPs:\n"
		"  yxrrset:NAME:TYPE[:RDATA]  nxrrset:NAME:TYPE  yxdomain:NAME  nxdomain:NAME\n"
		"  add:NAME:TTL:TYPE:RDATA    delrrset:NAME:TYPE delname:NAME   delrr:NAME:TYPE:RDATA\n");
}

static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

/* Report a failure in words and, with -j, as an object a program can branch on. */
static void report_err(struct dns_client *c, const char *what, int err)
{
	char b1[16], b2[16];
	int rc = c ? dns_client__last_rcode(c) : -1;
	int te = c ? dns_client__last_tsig_error(c) : 0;

	if (cli_json) {
		int r = dns_err_rcode(err);

		printf("{\"ok\":false,\"code\":%d,\"error\":", err);
		json_str(r >= 0 ? dns_rcode_name(r, b1) : "LOCAL");
		printf(",\"message\":");
		json_str(dns_strerror(err));
		if (rc >= 0) {
			printf(",\"rcode\":");
			json_str(dns_rcode_name(rc, b1));
		}
		if (te) {
			printf(",\"tsig_error\":");
			json_str(dns_rcode_name(te, b2));
		}
		printf("}\n");
	}
	if (rc > 0)
		pr_err("dns: %s: %s [server's rcode %s%s%s]\n", what, dns_strerror(err),
		       dns_rcode_name(rc, b1), te ? ", TSIG error " : "",
		       te ? dns_rcode_name(te, b2) : "");
	else
		pr_err("dns: %s: %s\n", what, dns_strerror(err));
}

/* A whole number in [lo, hi] for option @opt: 0, or -EINVAL after saying what was wrong. */
static int opt_num(const char *opt, const char *v, long long lo, long long hi, long long *out)
{
	char *end;

	errno = 0;
	*out = strtoll(v, &end, 10);
	if (!*v || *end || errno || *out < lo || *out > hi) {
		pr_err("dns: %s '%s': expected a whole number from %lld to %lld\n", opt, v, lo, hi);
		return -EINVAL;
	}
	return 0;
}

static int parse_server(struct opts *o, const char *arg)
{
	const char *hash = strchr(arg, '#');
	size_t l = hash ? (size_t)(hash - arg) : strlen(arg);
	long long port;

	if (l >= sizeof(o->server)) {
		pr_err("dns: --server '%s' is too long\n", arg);
		return -EINVAL;
	}
	memcpy(o->server, arg, l);
	o->server[l] = 0;
	if (hash) {
		if (opt_num("--server port", hash + 1, 1, 65535, &port))
			return -EINVAL;
		o->co.port = (uint16_t)port;
	}
	return 0;
}

/*
 * --config FILE, read before the other options so that they override it.
 * The file's 'name' lines are allowed (the controller's file has them) and
 * not used here: the name is an operand.
 */
static int load_config(struct opts *o, int argc, char **argv)
{
	const char *path = NULL;
	char err[512];
	int ret;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			break;
		if (!strcmp(argv[i], "--config")) {
			if (i + 1 == argc) {
				pr_err("dns: --config needs a FILE\n");
				return -EINVAL;
			}
			path = argv[++i];
		} else if (!strncmp(argv[i], "--config=", 9)) {
			path = argv[i] + 9;
		}
	}
	if (!path)
		return 0;
	ret = dns_config__read_file_flags(&o->cfg, path, DNS_CONFIG_NAMES_OPTIONAL, err,
					  sizeof(err));
	if (ret) {
		pr_err("dns: %s\n", err);
		return ret;
	}
	_Static_assert(sizeof(o->server) >= sizeof(o->cfg.server), "server fits");
	_Static_assert(MAX_ZONES >= DNS_CONFIG_ZONES_MAX, "zones fit");
	strcpy(o->server, o->cfg.server);
	o->co.port = o->cfg.port;
	memcpy(o->zones, o->cfg.zones, o->cfg.nzones * sizeof(o->zones[0]));
	o->nzones = o->cfg.nzones;
	o->zones_from_config = o->nzones > 0;
	if (o->cfg.key_file[0])
		o->keyfile = o->cfg.key_file;
	if (o->cfg.key_name[0])
		o->keyname = o->cfg.key_name;
	o->ttl = o->cfg.ttl;
	return 0;
}

static int parse_opts(struct opts *o, int *argc, char ***argv)
{
	static const struct option lo[] = {
		{ "server", required_argument, NULL, 's' },  { "port", required_argument, NULL, 'p' },
		{ "zone", required_argument, NULL, 'z' },    { "key", required_argument, NULL, 'k' },
		{ "key-name", required_argument, NULL, 'K' }, { "ttl", required_argument, NULL, 't' },
		{ "flag", required_argument, NULL, 'f' },    { "timeout", required_argument, NULL, 'T' },
		{ "retries", required_argument, NULL, 'r' }, { "tcp", no_argument, NULL, 'c' },
		{ "fudge", required_argument, NULL, 'F' },   { "time-offset", required_argument, NULL, 'o' },
		{ "json", no_argument, NULL, 'j' }, { "no-split", no_argument, NULL, 'N' },
		{ "no-flag", no_argument, NULL, 'n' },
		{ "no-edns", no_argument, NULL, 'E' },
		{ "config", required_argument, NULL, 'C' },	     { "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	long long v;
	int c, err;

	strcpy(o->server, "127.0.0.1");
	o->ttl = 30;
	if ((err = load_config(o, *argc, *argv)))
		return err;
	optind = 1;
	/* '+': stop at the first operand? No: options may follow operands. */
	while ((c = getopt_long(*argc, *argv, "jh", lo, NULL)) != -1) {
		switch (c) {
		case 's':
			if (parse_server(o, optarg))
				return -EINVAL;
			break;
		case 'p':
			if (opt_num("--port", optarg, 1, 65535, &v))
				return -EINVAL;
			o->co.port = (uint16_t)v;
			break;
		case 'z':
			if (o->zones_from_config) {
				o->nzones = 0;
				o->zones_from_config = false;
			}
			if (o->nzones == MAX_ZONES ||
			    (err = dns_name_from_text(&o->zones[o->nzones], optarg))) {
				pr_err("dns: bad zone '%s'\n", optarg);
				return -EINVAL;
			}
			o->nzones++;
			break;
		case 'k':
			o->keyfile = optarg;
			break;
		case 'K':
			o->keyname = optarg;
			break;
		case 't':
			/* RFC 2181: 0..2^31-1; 0 would defeat caching altogether */
			if (opt_num("--ttl", optarg, 1, 2147483647LL, &v))
				return -EINVAL;
			o->ttl = (uint32_t)v;
			break;
		case 'f': {
			const char *eq = strchr(optarg, '=');
			struct dns_flag_field *f = &o->flag[o->nflag];

			if (!eq || eq == optarg || o->nflag == DNS_FLAG_FIELDS_MAX ||
			    (size_t)(eq - optarg) >= sizeof(f->key) || strlen(eq + 1) >= sizeof(f->val)) {
				pr_err("dns: --flag wants KEY=VALUE (short), got '%s'\n", optarg);
				return -EINVAL;
			}
			memcpy(f->key, optarg, (size_t)(eq - optarg));
			f->key[eq - optarg] = 0;
			strcpy(f->val, eq + 1);
			o->nflag++;
			break;
		}
		case 'T':
			if (opt_num("--timeout", optarg, 1, 600000, &v))
				return -EINVAL;
			o->co.timeout_ms = (int)v;
			break;
		case 'r':
			/* the timeout doubles per retry: 10 already waits 1024 timeouts */
			if (opt_num("--retries", optarg, 0, 10, &v))
				return -EINVAL;
			o->co.retries = (int)v;
			if (o->co.retries == 0)
				o->co.retries = -1; /* 0 in opts means "default" */
			break;
		case 'c':
			o->co.tcp_only = true;
			break;
		case 'F':
			if (opt_num("--fudge", optarg, 1, 65535, &v))
				return -EINVAL;
			o->co.fudge = (uint16_t)v;
			break;
		case 'o':
			if (opt_num("--time-offset", optarg, -1000000000LL, 1000000000LL, &v))
				return -EINVAL;
			o->co.time_offset = v;
			break;
		case 'C': /* read by load_config() before the other options */
			break;
		case 'j':
			cli_json = true;
			break;
		case 'N':
			o->no_split = true;
			break;
		case 'n':
			o->no_flag = true;
			break;
		case 'E':
			o->co.no_edns = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			return -EINVAL;
		}
	}
	*argc -= optind;
	*argv += optind;
	o->co.server = o->server;
	if (o->keyfile) {
		err = dns_key_read_file(&o->key, o->keyfile, o->keyname);
		if (err) {
			pr_err("dns: cannot read key from %s: %s\n", o->keyfile, dns_strerror(err));
			return err;
		}
		o->co.key = &o->key;
	}
	return 0;
}

static void print_steer(const struct dns_steer *s, const char *verb)
{
	char name[DNS_NAME_TEXT_MAX], zone[DNS_NAME_TEXT_MAX];

	dns_name_to_text(&s->name, name, sizeof(name));
	dns_name_to_text(&s->zone, zone, sizeof(zone));
	if (cli_json) {
		printf("{\"ok\":true,\"action\":\"%s\",\"name\":", verb);
		json_str(name);
		printf(",\"zone\":");
		json_str(zone);
		printf(",\"serial\":%u,\"ttl\":%u,\"addresses\":[", s->serial, s->ttl);
		for (size_t i = 0; i < s->naddr; i++) {
			if (i)
				putchar(',');
			json_str(s->addrs[i]);
		}
		printf("],\"flag\":");
		if (!s->flag_present) {
			printf("null");
		} else {
			putchar('{');
			for (size_t i = 0; i < s->nflag; i++) {
				if (i)
					putchar(',');
				json_str(s->flag[i].key);
				putchar(':');
				json_str(s->flag[i].val);
			}
			putchar('}');
		}
		printf("}\n");
		return;
	}
	printf("%s (zone %s, serial %u)\n", name, zone, s->serial);
	if (!s->naddr)
		printf("  addresses: none\n");
	for (size_t i = 0; i < s->naddr; i++)
		printf("  address: %s ttl %u\n", s->addrs[i], s->ttl);
	if (!s->flag_present)
		printf("  mirroring flag: none\n");
	for (size_t i = 0; i < s->nflag; i++)
		printf("  flag %s=%s\n", s->flag[i].key, s->flag[i].val);
}

static int cmd_steer(struct opts *o, struct dns_client *c, int argc, char **argv, const char *verb)
{
	struct dns_steer *s;
	int err;

	if (argc < 1 || (strcmp(verb, "set") && argc != 1) || argc - 1 > DNS_STEER_ADDRS_MAX) {
		usage(stderr);
		return 2;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return 1;
	if ((err = dns_name_from_text(&s->name, argv[0]))) {
		pr_err("dns: '%s' is not a domain name\n", argv[0]);
		free(s);
		return 2;
	}
	if (o->nzones)
		s->zone = o->zones[0];
	s->ttl = o->ttl;
	if (!strcmp(verb, "set")) {
		bool have_time = false;

		if (argc < 2) {
			pr_err("dns: set needs at least one address\n");
			free(s);
			return 2;
		}
		for (int i = 1; i < argc; i++) {
			if (strlen(argv[i]) >= sizeof(s->addrs[0])) {
				free(s);
				return 2;
			}
			strcpy(s->addrs[s->naddr++], argv[i]);
		}
		if (o->no_flag && o->nflag) {
			pr_err("dns: set: --no-flag and --flag exclude each other\n");
			free(s);
			return 2;
		}
		memcpy(s->flag, o->flag, o->nflag * sizeof(o->flag[0]));
		s->nflag = o->nflag;
		for (size_t i = 0; i < s->nflag; i++)
			have_time |= !strcmp(s->flag[i].key, "time");
		/* every flag says when it was written, so stale flags are visible */
		if (!o->no_flag && !have_time && s->nflag < DNS_FLAG_FIELDS_MAX) {
			time_t now = time(NULL);

			strcpy(s->flag[s->nflag].key, "time");
			strftime(s->flag[s->nflag].val, sizeof(s->flag[0].val), "%Y-%m-%dT%H:%M:%SZ",
				 gmtime(&now));
			s->nflag++;
		}
		err = dns_steer__set(c, s);
	} else if (!strcmp(verb, "clear")) {
		err = dns_steer__clear(c, s);
	} else {
		err = dns_steer__show(c, s);
	}
	if (err) {
		report_err(c, verb, err);
		free(s);
		return 1;
	}
	print_steer(s, verb);
	free(s);
	return 0;
}

/* Split "a:b:c:rest" into at most @max fields; the last keeps its colons. */
static int split_fields(char *s, char **f, int max)
{
	int n = 0;

	while (n < max - 1) {
		char *col = strchr(s, ':');

		if (!col)
			break;
		*col = 0;
		f[n++] = s;
		s = col + 1;
	}
	f[n++] = s;
	return n;
}

static int parse_op(char *arg, struct dns_op *op, uint8_t *rd, size_t rdcap)
{
	static const struct {
		const char *kw;
		enum dns_op_kind kind;
		int nf; /* fields after the keyword: name [ttl] [type] [rdata] */
	} kinds[] = {
		{ "yxrrset", DNS_PRE_YXRRSET, 2 },  { "nxrrset", DNS_PRE_NXRRSET, 2 },
		{ "yxdomain", DNS_PRE_YXDOMAIN, 1 }, { "nxdomain", DNS_PRE_NXDOMAIN, 1 },
		{ "add", DNS_UPD_ADD, 4 },	    { "delrrset", DNS_UPD_DEL_RRSET, 2 },
		{ "delname", DNS_UPD_DEL_NAME, 1 }, { "delrr", DNS_UPD_DEL_RR, 3 },
	};
	char *f[6], *col = strchr(arg, ':');
	int n, k, type, err;

	if (!col)
		return -EINVAL;
	*col = 0;
	for (k = 0; k < (int)(sizeof(kinds) / sizeof(kinds[0])); k++)
		if (!strcmp(arg, kinds[k].kw))
			break;
	if (k == (int)(sizeof(kinds) / sizeof(kinds[0])))
		return -EINVAL;
	f[0] = arg;
	/* the RDATA is last and may hold colons (AAAA, TXT): split no further */
	n = 1 + split_fields(col + 1, f + 1, kinds[k].kind == DNS_PRE_YXRRSET ? 3 : kinds[k].nf);
	memset(op, 0, sizeof(*op));
	op->kind = kinds[k].kind;
	/* yxrrset with an RDATA is the value-dependent form */
	if (op->kind == DNS_PRE_YXRRSET && n == 4)
		op->kind = DNS_PRE_YXRRSET_VAL;
	else if (n != 1 + kinds[k].nf)
		return -EINVAL;
	if ((err = dns_name_from_text(&op->name, f[1])))
		return err;
	if (op->kind == DNS_UPD_ADD) {
		op->ttl = (uint32_t)strtoul(f[2], NULL, 10);
		f[2] = f[3];
		f[3] = f[4];
	}
	if (kinds[k].nf >= 2) {
		type = dns_type_from_text(f[2]);
		if (type < 0)
			return type;
		op->type = (uint16_t)type;
	}
	if (op->kind == DNS_PRE_YXRRSET_VAL || op->kind == DNS_UPD_ADD || op->kind == DNS_UPD_DEL_RR) {
		if ((err = dns_rdata_from_text(op->type, f[3], rd, rdcap, &op->rdlen)))
			return err;
		op->rdata = rd;
	}
	return 0;
}

static int cmd_update(struct opts *o, struct dns_client *c, int argc, char **argv)
{
	struct dns_op *ops = NULL;
	uint8_t *rdbuf = NULL;
	struct dns_msg **msgs = NULL;
	struct dns_name zones[MAX_ZONES];
	size_t nz = o->nzones;
	int nmsg = 0, rc = 1, err = 0;

	if (argc < 1 || argc > MAX_OPS) {
		usage(stderr);
		return 2;
	}
	ops = calloc((size_t)argc, sizeof(*ops));
	rdbuf = malloc((size_t)argc * 512);
	if (!ops || !rdbuf)
		goto out;
	memcpy(zones, o->zones, nz * sizeof(zones[0]));
	for (int i = 0; i < argc; i++) {
		char *copy = strdup(argv[i]);

		err = copy ? parse_op(copy, &ops[i], rdbuf + (size_t)i * 512, 512) : -ENOMEM;
		free(copy);
		if (err) {
			pr_err("dns: cannot parse update op '%s': %s\n", argv[i],
			       err == -EINVAL ? "see presage dns --help" : dns_strerror(err));
			rc = 2;
			goto out;
		}
	}
	/* No --zone: ask the server which zone holds each name. */
	for (int i = 0; !o->nzones && i < argc; i++) {
		struct dns_name z;
		bool known = false;

		for (size_t k = 0; k < nz && !known; k++)
			known = dns_name_is_subdomain(&ops[i].name, &zones[k]);
		if (known)
			continue;
		if ((err = dns_client__find_zone(c, &ops[i].name, &z))) {
			report_err(c, "finding zone", err);
			goto out;
		}
		if (nz == MAX_ZONES)
			goto out;
		zones[nz++] = z;
	}
	if (o->no_split && nz) {
		/* testing aid: everything into the first zone, as a careless client would */
		msgs = calloc(1, sizeof(*msgs));
		msgs[0] = msgs ? dns_update__new(0, &zones[0]) : NULL;
		for (int i = 0; msgs && msgs[0] && i < argc; i++)
			dns_update__add_op(msgs[0], &ops[i]);
		nmsg = msgs && msgs[0] ? 1 : -ENOMEM;
	} else {
		nmsg = dns_update__split(ops, (size_t)argc, zones, nz, &msgs);
	}
	if (nmsg < 0) {
		err = nmsg;
		nmsg = 0;
		report_err(NULL, "update", err);
		goto out;
	}
	rc = 0;
	if (cli_json)
		printf("{\"messages\":[");
	for (int i = 0; i < nmsg; i++) {
		struct dns_msg *resp = NULL;
		char zone[DNS_NAME_TEXT_MAX], b[16];
		const struct dns_client_stats *st = dns_client__stats(c);
		unsigned tcp0 = st->tcp_sent;

		dns_name_to_text(&msgs[i]->rr[DNS_SEC_ZONE][0].name, zone, sizeof(zone));
		err = dns_client__send(c, msgs[i], &resp);
		dns_msg__free(resp);
		if (cli_json) {
			int r = dns_client__last_rcode(c), te = dns_client__last_tsig_error(c);

			printf("%s{\"zone\":", i ? "," : "");
			json_str(zone);
			printf(",\"ok\":%s,\"code\":%d,\"rcode\":", err ? "false" : "true", err);
			json_str(r >= 0 ? dns_rcode_name(r, b) : "NONE");
			printf(",\"tsig_error\":");
			json_str(te ? dns_rcode_name(te, b) : "NONE");
			printf(",\"transport\":\"%s\",\"message\":", st->tcp_sent > tcp0 ? "tcp" : "udp");
			json_str(err ? dns_strerror(err) : "applied");
			printf("}");
		} else if (err) {
			report_err(c, zone, err);
		} else {
			printf("%s: update applied\n", zone);
		}
		if (err)
			rc = 1;
	}
	/* "ok" last: it is only known once every message has its answer */
	if (cli_json)
		printf("],\"ok\":%s}\n", rc ? "false" : "true");
out:
	for (int i = 0; i < nmsg; i++)
		dns_msg__free(msgs[i]);
	free(msgs);
	free(ops);
	free(rdbuf);
	return rc;
}

static int cmd_query(struct dns_client *c, int argc, char **argv)
{
	struct dns_msg *r = NULL;
	struct dns_name n;
	char name[DNS_NAME_TEXT_MAX], b[16], *rd;
	int type, err;

	if (argc != 2) {
		usage(stderr);
		return 2;
	}
	type = dns_type_from_text(argv[1]);
	if (dns_name_from_text(&n, argv[0]) || type < 0) {
		usage(stderr);
		return 2;
	}
	err = dns_client__query(c, &n, (uint16_t)type, &r);
	if (err && !r) {
		report_err(c, "query", err);
		return 1;
	}
	rd = malloc(140000);
	if (!rd) {
		dns_msg__free(r);
		return 1;
	}
	if (cli_json) {
		printf("{\"ok\":%s,\"code\":%d,\"rcode\":\"%s\",\"transport\":\"%s\",\"message\":",
		       err ? "false" : "true", err, dns_rcode_name(dns_msg__rcode(r), b),
		       dns_client__stats(c)->tcp_sent ? "tcp" : "udp");
		json_str(err ? dns_strerror(err) : "answered");
		printf(",\"answer\":[");
	}
	for (int i = 0; i < r->n[DNS_SEC_AN]; i++) {
		const struct dns_rr *rr = &r->rr[DNS_SEC_AN][i];

		dns_name_to_text(&rr->name, name, sizeof(name));
		dns_rdata_to_text(rr->type, rr->rdata, rr->rdlen, rd, 140000);
		if (cli_json) {
			printf("%s{\"name\":", i ? "," : "");
			json_str(name);
			printf(",\"ttl\":%u,\"type\":\"%s\",\"rdata\":", rr->ttl, dns_type_name(rr->type, b));
			json_str(rd);
			printf("}");
		} else {
			printf("%s\t%u\tIN\t%s\t%s\n", name, rr->ttl, dns_type_name(rr->type, b), rd);
		}
	}
	if (cli_json)
		printf("]}\n");
	else if (err)
		printf(";; %s: %s\n", dns_rcode_name(dns_msg_rcode(r), b), dns_strerror(err));
	free(rd);
	dns_msg__free(r);
	return err ? 1 : 0;
}

static int cmd_dns(int argc, char **argv)
{
	struct opts *o;
	struct dns_client *c = NULL;
	const char *verb;
	int rc = 2, err;

	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	verb = argv[1];
	o = calloc(1, sizeof(*o));
	if (!o)
		return 1;
	argc--;
	argv++;
	if ((err = parse_opts(o, &argc, &argv)))
		goto out;
	c = dns_client__new(&o->co);
	if (!c) {
		pr_err("dns: bad server address '%s' (numeric IPv4 or IPv6 expected)\n", o->server);
		goto out;
	}
	if (!strcmp(verb, "set") || !strcmp(verb, "show") || !strcmp(verb, "clear"))
		rc = cmd_steer(o, c, argc, argv, verb);
	else if (!strcmp(verb, "update"))
		rc = cmd_update(o, c, argc, argv);
	else if (!strcmp(verb, "query"))
		rc = cmd_query(c, argc, argv);
	else
		usage(stderr);
out:
	dns_client__free(c);
	memset(o, 0, sizeof(*o));
	free(o);
	return rc;
}

CLI_COMMAND(dns, "dns", "steer names with RFC 2136 updates + TSIG (set/show/clear/update/query)",
	    cmd_dns);
