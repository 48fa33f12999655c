/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The REPL reply path as the worker runs it: bytes from the REPL's stdout
 * into the ReplDecoder (src/worker/repl.c) in pieces of varying size, every
 * decoded reply through lean_reply_parse() (src/lean/lean-reply.c) and what
 * the tools do with a parsed reply (the tool JSON, the sorry/error/goal
 * predicates, line shifting, the axioms and unsolved-goals message parsers).
 * Oracles: the decoder consumes every byte or fails for good; a parsed
 * reply's JSON form serializes; shifting never moves a position before line
 * 1. The first input byte picks the piece size. */

#include <string.h>

#include "basic/macro.h"
#include "basic/strv.h"
#include "fuzz.h"
#include "lean/lean-reply.h"
#include "lean/proof-text.h"
#include "worker/repl.h"

static void use_reply(json_object *reply, unsigned shift) {
        _cleanup_free_ char *err = NULL;
        LeanReply r = LEAN_REPLY_INIT;
        json_object *j;
        int k;

        k = lean_reply_parse(reply, &r, &err);
        if (k < 0) {
                FUZZ_ASSERT(k == -EBADMSG || k == -ENOMEM);
                lean_reply_done(&r);
                return;
        }
        (void) lean_reply_has_errors(&r);
        (void) lean_reply_has_sorry(&r);
        (void) lean_reply_proof_completed(&r);
        for (LeanSeverity s = 0; s < _LEAN_SEVERITY_MAX; s++)
                FUZZ_ASSERT(lean_reply_count_severity(&r, s) <= r.n_messages);

        for (size_t i = 0; i < r.n_messages; i++) {
                _cleanup_strv_free_ char **axioms = NULL, **goals = NULL;

                FUZZ_ASSERT(r.messages[i].data);
                (void) lean_parse_axioms_message(r.messages[i].data, &axioms);
                (void) lean_unsolved_goals_extract(r.messages[i].data, &goals);
        }

        (void) lean_reply_shift_lines(&r, shift);
        for (size_t i = 0; i < r.n_messages; i++)
                FUZZ_ASSERT(!r.messages[i].pos.set || r.messages[i].pos.line >= 1 || shift == 0 ||
                            r.messages[i].pos.line == 0);

        j = lean_reply_to_json(&r);
        FUZZ_ASSERT(j);
        FUZZ_ASSERT(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN));
        json_object_put(j);
        lean_reply_done(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(repl_decoder_freep) ReplDecoder *d = NULL;
        const char *p;
        size_t piece, left;
        unsigned shift;

        if (size < 1 || size > 256 * 1024)
                return 0;
        piece = (data[0] & 0x3f) + 1;
        shift = data[0] >> 6;
        p = (const char *) data + 1;
        left = size - 1;

        /* a small limit so the oversized-reply path is reached too */
        FUZZ_ASSERT(repl_decoder_new(&d, (data[0] & 0x40) ? 512 : 64 * 1024) >= 0);
        while (left > 0) {
                size_t n = MIN(piece, left);

                while (n > 0) {
                        json_object *reply = NULL;
                        size_t used = 0;
                        int r;

                        r = repl_decoder_feed(d, p, n, &used, &reply);
                        if (r < 0) {
                                FUZZ_ASSERT(r == -EPROTO || r == -EMSGSIZE || r == -ENOMEM);
                                FUZZ_ASSERT(repl_decoder_error(d));
                                FUZZ_ASSERT(!reply);
                                return 0;
                        }
                        FUZZ_ASSERT(used <= n);
                        if (r == 0)
                                FUZZ_ASSERT(used == n && !reply);
                        else {
                                FUZZ_ASSERT(reply && json_object_is_type(reply, json_type_object));
                                use_reply(reply, shift);
                                json_object_put(reply);
                                FUZZ_ASSERT(used > 0 || n == 0);
                        }
                        p += used;
                        left -= used;
                        n -= used;
                }
        }
        (void) repl_decoder_finish(d);
        return 0;
}
