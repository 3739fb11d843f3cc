// SPDX-License-Identifier: GPL-2.0-only
/*
 * dns_config__parse/read_file: a full valid file read back field by field,
 * then a table of broken files, each with the line number and words its
 * message must carry, and files that are not text or not there.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dns/dns.h"
#include "harness.h"

static struct dns_config cfg;

static int parse(const char *text, char *err, size_t errlen)
{
	char *copy = strdup(text);
	int ret = copy ? dns_config__parse(&cfg, copy, "steer.conf", err, errlen) : -ENOMEM;

	free(copy);
	return ret;
}

static void test_config_valid(void)
{
	char err[512], t[DNS_NAME_TEXT_MAX];

	ASSERT_EQ(parse("# steering\n"
			"server 192.0.2.53#5353   # primary\n"
			"zone Example.COM\n"
			"zone other.test\n"
			"key-file \"/etc/presage/my key.key\"\n"
			"key-name presage-key\n"
			"\n"
			"   ttl\t20\n"
			"name www.example.com\n"
			"name \"img.other.test\"\n",
			err, sizeof(err)),
		  0, err);
	ASSERT_STREQ(cfg.server, "192.0.2.53", "server");
	ASSERT_EQ(cfg.port, 5353, "port from ADDR#PORT");
	ASSERT_EQ(cfg.nzones, 2, "zones");
	dns_name_to_text(&cfg.zones[0], t, sizeof(t));
	ASSERT_STREQ(t, "example.com.", "zone lower-cased");
	ASSERT_STREQ(cfg.key_file, "/etc/presage/my key.key", "quoted key-file with a space");
	ASSERT_STREQ(cfg.key_name, "presage-key", "key-name");
	ASSERT_EQ(cfg.ttl, 20, "ttl");
	ASSERT_EQ(cfg.nnames, 2, "names");
	dns_name_to_text(&cfg.names[1], t, sizeof(t));
	ASSERT_STREQ(t, "img.other.test.", "second name");
	ASSERT_EQ(cfg.name_line[1], 10, "line of the second name");
}

static void test_config_defaults(void)
{
	char err[512];

	ASSERT_EQ(parse("name a.example\nport 1053\nserver 2001:db8::53\n", err, sizeof(err)), 0,
		  err);
	ASSERT_STREQ(cfg.server, "2001:db8::53", "IPv6 server");
	ASSERT_EQ(cfg.port, 1053, "port line");
	ASSERT_EQ(cfg.ttl, 30, "default ttl");
	ASSERT_EQ(cfg.nzones, 0, "no zones: found by SOA later");
	ASSERT_STREQ(cfg.key_file, "", "no key file");
	/* without a server line: loopback, port 53 */
	ASSERT_EQ(parse("name a.example\n", err, sizeof(err)), 0, err);
	ASSERT_STREQ(cfg.server, "127.0.0.1", "default server");
	ASSERT_EQ(cfg.port, 53, "default port");
}

static void test_config_errors(void)
{
	static const struct {
		const char *text;
		const char *want; /* must appear in the message */
	} cases[] = {
		{ "name a.example\nbogus 1\n", "steer.conf:2: unknown key 'bogus'" },
		{ "name a.example\nserver\n", "steer.conf:2: 'server' needs exactly one value" },
		{ "name a.example\nttl 1 2\n", "steer.conf:2: 'ttl' needs exactly one value" },
		{ "name a.example\nttl 1 2 3\n", "steer.conf:2: too many words" },
		{ "server dns.example.com\nname a.example\n", "steer.conf:1: server 'dns.example.com': expected a numeric" },
		{ "server 192.0.2.1#0\nname a.example\n", "steer.conf:1: server port '0'" },
		{ "server 192.0.2.1#99999\nname a.example\n", "from 1 to 65535" },
		{ "port 53x\nname a.example\n", "steer.conf:1: port '53x': expected a whole number" },
		{ "port -1\nname a.example\n", "steer.conf:1: port '-1'" },
		{ "ttl 0\nname a.example\n", "steer.conf:1: ttl '0'" },
		{ "ttl 4294967296\nname a.example\n", "steer.conf:1: ttl '4294967296'" },
		{ "\n\nname bad..name\n", "steer.conf:3: name 'bad..name' is not a valid domain name" },
		{ "zone a.example\nzone A.example.\nname x.a.example\n", "steer.conf:2: zone 'A.example.' is already listed" },
		{ "name x.example\nname X.example\n", "steer.conf:2: name 'X.example' is already listed on line 1" },
		{ "name \"x.example\n", "steer.conf:1: unterminated" },
		{ "name \"x.example\"y\n", "steer.conf:1: text right after a closing quote" },
		{ "zone a.example\n# comment\nname www.b.example\n", "steer.conf:3: name 'www.b.example.' is in none of the zones" },
		{ "server 127.0.0.1\n", "steer.conf:0: no 'name' lines" },
		{ "", "no 'name' lines" },
		{ "key-name bad..key\nname a.example\n", "steer.conf:1: key-name 'bad..key'" },
	};
	char err[512], what[96];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(what, sizeof(what), "case %zu (%.40s)", i, cases[i].text);
		ASSERT_EQ(parse(cases[i].text, err, sizeof(err)), -DNS_E_CONFIG, what);
		if (!strstr(err, cases[i].want))
			HFAIL("%s: message '%s' lacks '%s'", what, err, cases[i].want);
	}
	/* a tiny error buffer truncates but never overflows */
	ASSERT_EQ(parse("bogus 1\n", err, 8), -DNS_E_CONFIG, "short buffer");
	ASSERT_EQ(strlen(err), 7, "message truncated to the buffer");
	ASSERT_EQ(parse("bogus 1\n", NULL, 0), -DNS_E_CONFIG, "no error buffer");
}

static void test_config_limits(void)
{
	size_t cap = (DNS_CONFIG_NAMES_MAX + 2) * 32;
	char *text = malloc(cap), err[512];
	size_t o = 0;

	if (!ASSERT_TRUE(text != NULL, "malloc"))
		return;
	for (int i = 0; i <= DNS_CONFIG_NAMES_MAX; i++)
		o += (size_t)snprintf(text + o, cap - o, "name n%d.example\n", i);
	ASSERT_EQ(parse(text, err, sizeof(err)), -DNS_E_CONFIG, "one name too many");
	if (!strstr(err, "more than 256 names"))
		HFAIL("message '%s'", err);
	free(text);
}

/* presage dns --config: names optional, every other check unchanged */
static void test_config_names_optional(void)
{
	char text[] = "server 192.0.2.1\nzone example.com\nttl 5\n";
	char text2[] = "server 192.0.2.1\nzone example.com\nttl 5\n";
	char bad[] = "zone example.com\nname www.other.org\n";
	char err[512];

	ASSERT_EQ(dns_config__parse_flags(&cfg, text, "c.conf", DNS_CONFIG_NAMES_OPTIONAL, err,
					  sizeof(err)),
		  0, err);
	ASSERT_EQ(cfg.nnames, 0, "no names");
	ASSERT_EQ(cfg.ttl, 5, "ttl");
	ASSERT_EQ(dns_config__parse(&cfg, text2, "c.conf", err, sizeof(err)), -DNS_E_CONFIG,
		  "without the flag a name is still required");
	ASSERT_TRUE(strstr(err, "c.conf:0: no 'name' lines") != NULL, err);
	ASSERT_EQ(dns_config__parse_flags(&cfg, bad, "c.conf", DNS_CONFIG_NAMES_OPTIONAL, err,
					  sizeof(err)),
		  -DNS_E_CONFIG, "a name outside the zones is still an error");
	ASSERT_TRUE(strstr(err, "c.conf:2: name 'www.other.org.'") != NULL, err);
}

static void test_config_files(void)
{
	char path[] = "/tmp/presage-dns-config-XXXXXX", err[512];
	static const char bin[] = "name a.example\nzone\0example\n";
	int fd = mkstemp(path);

	if (!ASSERT_TRUE(fd >= 0, "mkstemp"))
		return;
	ASSERT_EQ(write(fd, bin, sizeof(bin) - 1), (long)sizeof(bin) - 1, "write");
	close(fd);
	ASSERT_EQ(dns_config__read_file(&cfg, path, err, sizeof(err)), -DNS_E_CONFIG, "NUL byte");
	if (!strstr(err, ":2: NUL byte"))
		HFAIL("NUL byte message '%s' does not name line 2", err);
	unlink(path);
	ASSERT_EQ(dns_config__read_file(&cfg, path, err, sizeof(err)), -ENOENT, "missing file");
	if (!strstr(err, path) || !strstr(err, "No such file"))
		HFAIL("missing-file message '%s'", err);
}

int main(void)
{
	RUN(test_config_valid);
	RUN(test_config_defaults);
	RUN(test_config_errors);
	RUN(test_config_limits);
	RUN(test_config_names_optional);
	RUN(test_config_files);
	return harness_exit();
}
