#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Reading 1 Mi flow entries: bpf_map_lookup_batch against get_next_key +
# lookup per element, on a map like `flows` that the bench creates.
# Targets (not gates): >= 10x and <= 100 ms a batch sweep.
exec "${BUILD:-build}/bench/bench-flowmap" "$@"
