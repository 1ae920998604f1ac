/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * maps.bpf.c: the one definition of every map the hook families share (vigil.bpf.h declares
 * them extern everywhere else). Sizes are the defaults; the loader may resize before load.
 */
#define VGL_DEFINE_MAPS
#include "vigil.bpf.h"

char LICENSE[] SEC("license") = "GPL";
