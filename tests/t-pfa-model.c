// SPDX-License-Identifier: GPL-2.0-only
#include "harness.h"
static void test_nothing(void) { }
int main(void) { RUN(test_nothing); return harness_exit(); }
