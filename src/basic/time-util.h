/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <time.h>

#include "basic/macro.h"

usec_t now_usec(clockid_t clock); /* CLOCK_MONOTONIC, CLOCK_REALTIME, CLOCK_BOOTTIME */
