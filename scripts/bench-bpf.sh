#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# ns/packet of the data plane against empty programs (BPF_PROG_TEST_RUN).
# Targets (not gates): <= 27 ns over empty for a known flow, <= 150 ns for a new flow.
exec "${BUILD:-build}/bench/bench-bpf"
