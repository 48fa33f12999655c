/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The Lean REPL wire codec. Commands go out as one JSON line followed by a
 * blank line (the REPL splits its input on blank lines). Replies come back as
 * pretty-printed, multi-line JSON objects separated by blank lines; the
 * decoder finds value boundaries with an incremental json_tokener, so it does
 * not depend on the pretty-printing. Anything that is not a JSON object
 * between the separating whitespace is a protocol error. */

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <systemd/sd-event.h>

#include "basic/macro.h"

#define REPL_REPLY_MAX_DEFAULT (UINT64_C(16) * 1024 * 1024)

/* Serialize a command: compact JSON, then "\n\n". */
int repl_encode_command(json_object *command, char **ret, size_t *ret_len);

typedef struct ReplDecoder ReplDecoder;

int repl_decoder_new(ReplDecoder **ret, size_t max_reply_bytes);
/* The loop an abandoned (oversized) reply is released on in slices
 * (borrowed); without one (tests, fuzzers) it is freed at once. */
void repl_decoder_set_event(ReplDecoder *d, sd_event *event);
ReplDecoder *repl_decoder_free(ReplDecoder *d);
DEFINE_TRIVIAL_CLEANUP_FUNC(ReplDecoder *, repl_decoder_free);

/* Feed up to n bytes. Returns 1 and a new reference in *ret_reply when a
 * complete reply ended within the bytes consumed, 0 when all n bytes were
 * consumed without completing one, -EPROTO (or -EMSGSIZE for an oversized
 * reply) on a protocol error, after which the decoder stays failed.
 * *ret_consumed is how many bytes were used: call again with the rest. */
int repl_decoder_feed(ReplDecoder *d, const char *buf, size_t n, size_t *ret_consumed, json_object **ret_reply);

/* At end of stream: -EPROTO if a reply was cut off, else 0. */
int repl_decoder_finish(ReplDecoder *d);

/* Human-readable description of the last error (static or owned by d). */
const char *repl_decoder_error(const ReplDecoder *d);

/* Bytes of the reply currently being decoded (0 between replies). */

/* Releases a big JSON array (a reply's dropped messages) from event loop e
 * (never NULL), 500 elements per otherwise idle iteration, each slice followed
 * by malloc_trim(0) so the pages go back to the kernel. Freeing 150k
 * messages at once blocks for 0.1-0.5 s. Takes the reference; NULL is fine;
 * a small array is released at once. */
void repl_release_in_slices(sd_event *e, json_object *a);
