/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

int mcp_callback(int x);
int project_step(int x);
int worker_run(int x);
