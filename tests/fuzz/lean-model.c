/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The reference model of Lean 4's lexing: see lean-model.h. Each function
 * names the Lean function it follows; comments quote what matters. */

#include <stdint.h>
#include <string.h>

#include "lean-model.h"

/* ---- characters (Init/Meta.lean, Lean.Parser.Basic) ---------------------- */

/* Decode the character at s[i] (valid UTF-8 assumed): its code point and size. */
static uint32_t get_char(const char *s, size_t n, size_t i, size_t *ret_size) {
        const unsigned char *u = (const unsigned char *) s + i;
        size_t k;
        uint32_t cp;

        if (i >= n) {
                /* String.get past the end is `default` ('A'), String.next adds 1 */
                *ret_size = 1;
                return 'A';
        }
        if (u[0] < 0x80)
                k = 1, cp = u[0];
        else if (u[0] < 0xe0)
                k = 2, cp = u[0] & 0x1f;
        else if (u[0] < 0xf0)
                k = 3, cp = u[0] & 0x0f;
        else
                k = 4, cp = u[0] & 0x07;
        for (size_t j = 1; j < k && i + j < n; j++)
                cp = (cp << 6) | (u[j] & 0x3f);
        *ret_size = k;
        return cp;
}

static size_t next_pos(const char *s, size_t n, size_t i) {
        size_t k;

        (void) get_char(s, n, i, &k);
        return i + k;
}

bool model_utf8_valid(const char *s, size_t n) {
        for (size_t i = 0; i < n; ) {
                const unsigned char *u = (const unsigned char *) s + i;
                size_t k;
                uint32_t cp, min;

                if (u[0] == 0)
                        return false;
                if (u[0] < 0x80) {
                        i++;
                        continue;
                }
                if ((u[0] & 0xe0) == 0xc0)
                        k = 2, cp = u[0] & 0x1f, min = 0x80;
                else if ((u[0] & 0xf0) == 0xe0)
                        k = 3, cp = u[0] & 0x0f, min = 0x800;
                else if ((u[0] & 0xf8) == 0xf0)
                        k = 4, cp = u[0] & 0x07, min = 0x10000;
                else
                        return false;
                if (i + k > n)
                        return false;
                for (size_t j = 1; j < k; j++) {
                        if ((u[j] & 0xc0) != 0x80)
                                return false;
                        cp = (cp << 6) | (u[j] & 0x3f);
                }
                if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
                        return false;
                i += k;
        }
        return true;
}

/* Char.isAlpha / isDigit are ASCII only in Lean 4 */
static bool is_alpha(uint32_t c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(uint32_t c) {
        return c >= '0' && c <= '9';
}

static bool is_hex_digit(uint32_t c) {
        return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* isLetterLike, as in Lean 4 releases up to 2025 (the smaller set: a newer
 * Lean that also takes Latin-1 letters joins MORE characters into one
 * identifier, so it sees a subset of the keywords this model sees) */
static bool is_letter_like(uint32_t c) {
        return (0x3b1 <= c && c <= 0x3c9 && c != 0x3bb) ||
               (0x391 <= c && c <= 0x3a9 && c != 0x3a0 && c != 0x3a3) ||
               (0x3ca <= c && c <= 0x3fb) ||
               (0x1f00 <= c && c <= 0x1ffe) ||
               (0x2100 <= c && c <= 0x214f) ||
               (0x1d49c <= c && c <= 0x1d59f);
}

static bool is_sub_script_alnum(uint32_t c) {
        return (0x2080 <= c && c <= 0x2089) || (0x2090 <= c && c <= 0x209c) || (0x1d62 <= c && c <= 0x1d6a);
}

/* Newer Lean (Init/Meta/Defs.lean) adds Latin-1 and Latin Extended-A
 * letters and U+2C7C. Text is scanned with the older, smaller set (more
 * token boundaries: every keyword either Lean sees); a name is one
 * identifier when the newer Lean reads it as one (keywords are ASCII, so
 * joining more letters never makes one). */
static bool newer_letters;

static bool is_letter_like_v(uint32_t c) {
        return is_letter_like(c) ||
               (newer_letters && ((0xc0 <= c && c <= 0xff && c != 0xd7 && c != 0xf7) || (0x100 <= c && c <= 0x17f)));
}

static bool is_id_first(uint32_t c) {
        return is_alpha(c) || c == '_' || is_letter_like_v(c);
}

static bool is_id_rest(uint32_t c) {
        return is_alpha(c) || is_digit(c) || c == '_' || c == '\'' || c == '!' || c == '?' ||
               is_letter_like_v(c) || is_sub_script_alnum(c) || (newer_letters && c == 0x2c7c);
}

#define ID_BEGIN_ESCAPE 0xab /* « */
#define ID_END_ESCAPE 0xbb   /* » */

static bool is_whitespace(uint32_t c) {
        return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* ---- comments and whitespace ---------------------------------------------- */

/* finishCommentBlock nesting, from i: the offset after the closing "-/", -1 at eoi */
static ssize_t finish_comment_block(const char *s, size_t n, size_t i, unsigned nesting) {
        for (;;) {
                size_t k;
                uint32_t curr;

                if (i >= n)
                        return -1;
                curr = get_char(s, n, i, &k);
                i += k;
                if (curr == '-') {
                        if (i >= n)
                                return -1;
                        curr = get_char(s, n, i, &k);
                        if (curr == '/') {                      /* "-/" end of comment */
                                if (nesting == 1)
                                        return (ssize_t) (i + k);
                                nesting--;
                                i += k;
                        }                                       /* else: s.setPos i */
                } else if (curr == '/') {
                        if (i >= n)
                                return -1;
                        curr = get_char(s, n, i, &k);
                        if (curr == '-') {
                                nesting++;
                                i += k;
                        }
                }
        }
}

ssize_t model_block_comment_end(const char *s, size_t n, size_t at) {
        /* whitespace: i := next "/", curr = '-'; i := next i; curr := get i (the
         * character after "/-"), not '-' or '!'; finishCommentBlock 1 from
         * `s.next input i`: that character is stepped over */
        size_t i = at + 2;

        return finish_comment_block(s, n, next_pos(s, n, i), 1);
}

size_t model_whitespace(const char *s, size_t n, size_t pos, bool *ret_unterminated) {
        for (;;) {
                size_t k;
                uint32_t curr;

                if (pos >= n)
                        return n;
                curr = get_char(s, n, pos, &k);
                /* Lean refuses tabs and lone CRs here with an error; its command
                 * loop then steps over them one character later: whitespace */
                if (is_whitespace(curr)) {
                        pos += k;
                        continue;
                }
                if (curr == '-' && pos + 1 < n && s[pos + 1] == '-') {
                        /* takeUntilFn (· = '\n') */
                        const char *nl = memchr(s + pos, '\n', n - pos);

                        pos = nl ? (size_t) (nl - s) : n;
                        continue;
                }
                if (curr == '/' && pos + 1 < n && s[pos + 1] == '-') {
                        ssize_t e;

                        if (pos + 2 < n && (s[pos + 2] == '-' || s[pos + 2] == '!'))
                                return pos; /* "/--" and "/-!" doc comment are actual tokens */
                        e = model_block_comment_end(s, n, pos);
                        if (e < 0) {
                                if (ret_unterminated)
                                        *ret_unterminated = true;
                                return n;
                        }
                        pos = (size_t) e;
                        continue;
                }
                return pos;
        }
}

/* ---- tokens ------------------------------------------------------------- */

typedef enum TokKind {
        TOK_IDENT,     /* identifier or keyword (raw text decides) */
        TOK_ESCAPED,   /* identifier with a «» part: never a keyword */
        TOK_OTHER,     /* literal, symbol, name literal */
        TOK_DOC,       /* "/--" or "/-!" with its body */
        TOK_ERROR,     /* a lexical error at err */
} TokKind;

typedef struct Tok {
        TokKind kind;
        size_t start, end; /* end: where the next whitespace starts */
        size_t err;        /* TOK_ERROR: where Lean's command loop resumes */
        bool unterminated; /* TOK_ERROR: ran to the end of the input */
} Tok;

static Tok tok_error(size_t start, size_t err, bool unterminated) {
        return (Tok) { .kind = TOK_ERROR, .start = start, .err = err, .unterminated = unterminated };
}

/* quotedCharCoreFn isQuotableCharDefault, at i (just after the backslash):
 * the offset after the escape, or -(error position) - 1 */
static ssize_t quoted_char(const char *s, size_t n, size_t i) {
        size_t k;
        uint32_t curr;

        if (i >= n)
                return -(ssize_t) i - 1;
        curr = get_char(s, n, i, &k);
        if (curr == '\\' || curr == '"' || curr == '\'' || curr == 'r' || curr == 'n' || curr == 't')
                return (ssize_t) (i + k);
        if (curr == 'x' || curr == 'u') {
                size_t want = curr == 'x' ? 2 : 4;

                i += k;
                for (size_t j = 0; j < want; j++, i++)
                        if (i >= n || !is_hex_digit((unsigned char) s[i]))
                                return -(ssize_t) i - 1; /* hexDigitFn: "invalid hexadecimal numeral" at i */
                return (ssize_t) i;
        }
        return -(ssize_t) i - 1; /* "invalid escape sequence" */
}

/* strLitFnAux from i (after the opening quote). A `{` is where an
 * interpolated string (s!, m!, f!) would hold a term: the model reads on
 * from there as code (more tokens, never fewer). */
static Tok string_literal(const char *s, size_t n, size_t start, bool interpolation) {
        size_t i = start + 1;

        for (;;) {
                size_t k;
                uint32_t curr;

                if (i >= n)
                        return tok_error(start, start, true); /* mkUnexpectedErrorAt … startPos */
                curr = get_char(s, n, i, &k);
                i += k;
                if (curr == '"')
                        return (Tok) { .kind = TOK_OTHER, .start = start, .end = i };
                if (curr == '{' && interpolation)
                        return (Tok) { .kind = TOK_OTHER, .start = start, .end = i };
                if (curr == '\\') {
                        ssize_t r = quoted_char(s, n, i);

                        if (r < 0)
                                return tok_error(start, (size_t) (-r - 1), false);
                        i = (size_t) r;
                }
        }
}

/* charLitFnAux from start (the quote; the next character is not a quote) */
static Tok char_literal(const char *s, size_t n, size_t start) {
        size_t i = start + 1, k;
        uint32_t curr;

        if (i >= n)
                return tok_error(start, i, false);
        curr = get_char(s, n, i, &k);
        i += k;
        if (curr == '\\') {
                ssize_t r = quoted_char(s, n, i);

                if (r < 0)
                        return tok_error(start, (size_t) (-r - 1), false);
                i = (size_t) r;
        }
        curr = get_char(s, n, i, &k);
        i += k;                          /* s.setPos (input.next i) before the check */
        if (curr == '\'')
                return (Tok) { .kind = TOK_OTHER, .start = start, .end = i };
        return tok_error(start, i > n ? n : i, false); /* "missing end of character literal" */
}

static size_t take_while(const char *s, size_t n, size_t i, bool (*p)(uint32_t)) {
        while (i < n) {
                size_t k;

                if (!p(get_char(s, n, i, &k)))
                        break;
                i += k;
        }
        return i;
}

static bool is_bin(uint32_t c) {
        return c == '0' || c == '1';
}

static bool is_oct(uint32_t c) {
        return c >= '0' && c <= '7';
}

static bool is_hex_u(uint32_t c) {
        return is_hex_digit(c);
}

/* numberFnAux (with decimalNumberFn, binNumberFn, octalNumberFn, hexNumberFn) */
static Tok number_literal(const char *s, size_t n, size_t start) {
        size_t i = start;

        if (s[i] == '0' && i + 1 < n && strchr("bBoOxX", s[i + 1])) {
                bool (*p)(uint32_t) = strchr("bB", s[i + 1]) ? is_bin : strchr("oO", s[i + 1]) ? is_oct : is_hex_u;
                size_t e = take_while(s, n, i + 2, p);

                if (e == i + 2)
                        return tok_error(start, e, false); /* takeWhile1Fn: at least one digit */
                return (Tok) { .kind = TOK_OTHER, .start = start, .end = e };
        }
        i = take_while(s, n, i, is_digit);
        if (i < n && (s[i] == '.' || s[i] == 'e' || s[i] == 'E')) {
                if (s[i] == '.') {              /* parseOptDot: the dot is taken, digits optional */
                        i++;
                        i = take_while(s, n, i, is_digit);
                }
                if (i < n && (s[i] == 'e' || s[i] == 'E')) { /* parseOptExp */
                        i++;
                        if (i < n && (s[i] == '-' || s[i] == '+'))
                                i++;
                        if (i >= n || !is_digit((unsigned char) s[i]))
                                return tok_error(start, i, false); /* "missing exponent digits" */
                        i = take_while(s, n, i, is_digit);
                }
        }
        return (Tok) { .kind = TOK_OTHER, .start = start, .end = i };
}

/* identFnAux from start: components joined by isIdCont ('.' then an
 * identifier start or «). Returns TOK_IDENT/TOK_ESCAPED, or an error. */
static Tok identifier(const char *s, size_t n, size_t start) {
        size_t i = start;
        bool escaped = false;

        for (;;) {
                size_t k;
                uint32_t curr = get_char(s, n, i, &k);

                if (curr == ID_BEGIN_ESCAPE) {
                        size_t part = i + k;
                        const char *end = NULL;

                        /* takeUntilFn isIdEndEscape: any character, newlines too */
                        for (size_t j = part; j + 1 < n; j++)
                                if ((unsigned char) s[j] == 0xc2 && (unsigned char) s[j + 1] == ID_END_ESCAPE) {
                                        end = s + j;
                                        break;
                                }
                        if (!end)
                                return tok_error(start, part, true); /* "unterminated identifier escape" at startPart */
                        i = (size_t) (end - s) + 2;
                        escaped = true;
                } else {
                        /* the caller checked isIdFirst for the first component */
                        i = take_while(s, n, i + k, is_id_rest);
                }
                /* isIdCont */
                if (i + 1 < n && s[i] == '.') {
                        size_t k2;
                        uint32_t c2 = get_char(s, n, i + 1, &k2);

                        if (is_id_first(c2) || c2 == ID_BEGIN_ESCAPE) {
                                i++;
                                continue;
                        }
                }
                break;
        }
        return (Tok) { .kind = escaped ? TOK_ESCAPED : TOK_IDENT, .start = start, .end = i };
}

/* rawStrLitFnAux, approximately: r, hashes, '"', …, '"', the same hashes. An
 * error resumes right after the `r` (more tokens, never fewer). */
static Tok raw_string_literal(const char *s, size_t n, size_t start) {
        size_t i = start + 1, hashes = 0;

        while (i < n && s[i] == '#')
                i++, hashes++;
        if (i >= n || s[i] != '"')
                return tok_error(start, start + 1, false);
        for (i++; i < n; i++) {
                size_t j = 0;

                if (s[i] != '"')
                        continue;
                while (j < hashes && i + 1 + j < n && s[i + 1 + j] == '#')
                        j++;
                if (j == hashes)
                        return (Tok) { .kind = TOK_OTHER, .start = start, .end = i + 1 + hashes };
        }
        return tok_error(start, start + 1, true);
}

/* tokenFnAux at pos (after whitespace, pos < n) */
static Tok next_token(const char *s, size_t n, size_t pos) {
        size_t k, k2;
        uint32_t curr = get_char(s, n, pos, &k), next = get_char(s, n, pos + k, &k2);

        if (curr == '/' && pos + 2 < n && s[pos + 1] == '-' && (s[pos + 2] == '-' || s[pos + 2] == '!')) {
                /* docComment / moduleDoc: "/--" >> commentBody (finishCommentBlock 1, no step) */
                ssize_t e = finish_comment_block(s, n, pos + 3, 1);

                if (e < 0)
                        return tok_error(pos, n, true);
                return (Tok) { .kind = TOK_DOC, .start = pos, .end = (size_t) e };
        }
        if (curr == '"')
                return string_literal(s, n, pos, true);
        if (curr == '\'' && next != '\'')
                return char_literal(s, n, pos);
        if (is_digit(curr))
                return number_literal(s, n, pos);
        if (curr == '`' && pos + k < n && (is_id_first(next) || next == ID_BEGIN_ESCAPE)) {
                /* nameLitAux: identFnAux with no token: an identifier, never a keyword */
                Tok t = identifier(s, n, pos + k);

                if (t.kind == TOK_ERROR)
                        return t;
                return (Tok) { .kind = TOK_OTHER, .start = pos, .end = t.end };
        }
        if (curr == 'r' && pos + k < n && (next == '"' || next == '#'))
                return raw_string_literal(s, n, pos);
        if (is_id_first(curr) || curr == ID_BEGIN_ESCAPE)
                return identifier(s, n, pos);
        /* a symbol from the token table: one character is the shortest it can
         * be, and the shortest reading sees the most tokens after it */
        return (Tok) { .kind = TOK_OTHER, .start = pos, .end = pos + k };
}

const char *model_finding_to_string(ModelFinding f) {
        switch (f) {
        case MODEL_OK:              return "nothing";
        case MODEL_COMMAND_KEYWORD: return "a command keyword token";
        case MODEL_HASH_COMMAND:    return "a #command token";
        case MODEL_ATTRIBUTE:       return "an attribute @[";
        case MODEL_DOC_COMMENT:     return "a doc comment";
        case MODEL_UNTERMINATED:    return "an unterminated comment, literal or «»";
        }
        return "?";
}

ModelFinding model_scan(const char *s, size_t n, bool (*is_keyword)(const char *w, size_t len), size_t *ret_at) {
        size_t pos = 0;
        bool prev_open = false;

        for (;;) {
                bool unterminated = false;
                size_t k;
                Tok t;

                pos = model_whitespace(s, n, pos, &unterminated);
                if (unterminated) {
                        *ret_at = pos;
                        return MODEL_UNTERMINATED;
                }
                if (pos >= n)
                        return MODEL_OK;
                if (s[pos] == '#' && pos + 1 < n && is_id_first(get_char(s, n, pos + 1, &k))) {
                        *ret_at = pos;
                        return MODEL_HASH_COMMAND;
                }
                if (s[pos] == '@' && pos + 1 < n && s[pos + 1] == '[') {
                        *ret_at = pos;
                        return MODEL_ATTRIBUTE;
                }
                t = next_token(s, n, pos);
                switch (t.kind) {
                case TOK_DOC:
                        *ret_at = pos;
                        return MODEL_DOC_COMMENT;
                case TOK_ERROR:
                        if (t.unterminated) {
                                *ret_at = pos;
                                return MODEL_UNTERMINATED;
                        }
                        /* parseCommand: resume at the error position; no progress: one
                         * token further (consumeInput; a token that fails: one character) */
                        pos = t.err > pos ? t.err : next_pos(s, n, pos);
                        prev_open = false;
                        continue;
                case TOK_IDENT:
                        /* `open scoped X in`: `scoped` right after `open` is that syntax */
                        if (is_keyword(s + t.start, t.end - t.start) &&
                            !(prev_open && t.end - t.start == 6 && memcmp(s + t.start, "scoped", 6) == 0)) {
                                *ret_at = t.start;
                                return MODEL_COMMAND_KEYWORD;
                        }
                        prev_open = t.end - t.start == 4 && memcmp(s + t.start, "open", 4) == 0;
                        break;
                default:
                        prev_open = false;
                        break;
                }
                pos = t.end;
        }
}

static bool one_identifier(const char *s, size_t n, bool (*is_keyword)(const char *w, size_t len)) {
        size_t k;
        uint32_t c;
        Tok t;

        if (n == 0)
                return false;
        c = get_char(s, n, 0, &k);
        if (!is_id_first(c) && c != ID_BEGIN_ESCAPE)
                return false;
        if (c == 'r' && n > k && (s[k] == '"' || s[k] == '#'))
                return false;
        t = identifier(s, n, 0);
        if (t.kind == TOK_ERROR || t.end != n)
                return false;
        return t.kind == TOK_ESCAPED || !is_keyword(s, n);
}

bool model_is_one_identifier(const char *s, size_t n, bool (*is_keyword)(const char *w, size_t len)) {
        bool r;

        newer_letters = true;
        r = one_identifier(s, n, is_keyword);
        newer_letters = false;
        return r;
}

bool model_is_one_string_literal(const char *s, size_t n) {
        Tok t;

        if (n < 2 || s[0] != '"')
                return false;
        /* a plain literal: `{` is an ordinary character there (no s!/m!/f!) */
        t = string_literal(s, n, 0, false);
        return t.kind == TOK_OTHER && t.end == n && s[n - 1] == '"';
}
