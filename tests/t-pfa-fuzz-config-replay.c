// SPDX-License-Identifier: GPL-2.0-only
/* Replays the config parser's fuzz target over pfa/fuzz/corpus-config (see t-pfa-fuzz-replay.c). */
#define PFA_FUZZ_CORPUS "pfa/fuzz/corpus-config"
#define PFA_FUZZ_NAME "fuzz_config_corpus"
#include "t-pfa-fuzz-replay.c"
