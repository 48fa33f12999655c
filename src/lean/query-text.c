/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The Lean texts of the query tools. See query-text.h for the versions
 * targeted; NOT run against a real Lean here (synthetic worker only). */

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lean/header.h"
#include "lean/commands.h"
#include "lean/proof-text.h"
#include "lean/query-text.h"

bool lean_decl_name_is_valid(const char *name) {
        return lean_module_name_is_valid(name) && lean_commands_decl_name_is_valid(name);
}

char *lean_string_literal(const char *s) {
        size_t n = 3;
        char *out, *o;

        for (const char *c = s; *c; c++)
                n += 4;
        out = malloc(n);
        if (!out)
                return NULL;
        o = out;
        *o++ = '"';
        for (const unsigned char *c = (const unsigned char *) s; *c; c++) {
                switch (*c) {
                case '\\': *o++ = '\\'; *o++ = '\\'; break;
                case '"':  *o++ = '\\'; *o++ = '"'; break;
                case '\n': *o++ = '\\'; *o++ = 'n'; break;
                case '\t': *o++ = '\\'; *o++ = 't'; break;
                case '\r': *o++ = '\\'; *o++ = 'r'; break;
                default:
                        if (*c < 0x20 || *c == 0x7f)
                                o += sprintf(o, "\\x%02x", *c);
                        else
                                *o++ = (char) *c;
                }
        }
        *o++ = '"';
        *o = 0;
        return out;
}

/* Words that begin (or modify) a command. Refused anywhere in user terms:
 * Lean starts a new command at such a token wherever it appears. */
static const char * const command_words[] = {
        "import", "prelude", "def", "theorem", "lemma", "example", "abbrev", "instance", "axiom",
        "structure", "class", "inductive", "coinductive", "opaque", "namespace", "section", "end",
        "open", "export", "variable", "universe", "set_option", "attribute", "macro", "macro_rules",
        "syntax", "elab", "elab_rules", "notation", "infix", "infixl", "infixr", "prefix", "postfix",
        "declare_syntax_cat", "initialize", "builtin_initialize", "run_cmd", "run_elab", "run_meta",
        "mutual", "deriving", "private", "protected", "noncomputable", "partial", "unsafe", "omit",
        "include", "add_decl_doc", "register_option", "local", "scoped", "nonrec",
};

static bool is_ident_char(unsigned char c) {
        /* '.' joins name components: `Nat.end` is one name, not the word `end` */
        return c >= 0x80 || c == '_' || c == '\'' || c == '!' || c == '?' || c == '.' ||
               (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static int user_term_check_basic(const char *text, const char **ret_reason) {
        const char *reason = NULL;
        int depth = 0;

        if (!text || !*text) {
                reason = "is empty";
                goto refuse;
        }
        for (const unsigned char *c = (const unsigned char *) text; *c; c++)
                if ((*c < 0x20 && *c != '\n' && *c != '\t') || *c == 0x7f) {
                        reason = "contains a control character";
                        goto refuse;
                }

        for (const char *c = text; *c; ) {
                if (c[0] == '/' && c[1] == '-') {
                        depth++;
                        c += 2;
                        continue;
                }
                if (c[0] == '-' && c[1] == '/' && depth > 0) {
                        depth--;
                        c += 2;
                        continue;
                }
                if (c[0] == '#' && ((c[1] >= 'a' && c[1] <= 'z') || (c[1] >= 'A' && c[1] <= 'Z'))) {
                        reason = "contains a #command";
                        goto refuse;
                }
                if (is_ident_char((unsigned char) *c)) {
                        const char *start = c;
                        size_t len;

                        while (*c && is_ident_char((unsigned char) *c))
                                c++;
                        len = c - start;
                        for (size_t i = 0; i < ELEMENTSOF(command_words); i++)
                                if (strlen(command_words[i]) == len && strncmp(start, command_words[i], len) == 0) {
                                        reason = "contains a command keyword (def, theorem, import, set_option, end, …)";
                                        goto refuse;
                                }
                        continue;
                }
                c++;
        }
        if (depth > 0) {
                reason = "has an unterminated block comment";
                goto refuse;
        }
        return 0;
refuse:
        if (ret_reason)
                *ret_reason = reason;
        return -EINVAL;
}

static int text_printf(char **ret, const char *format, ...) _printf_(2, 3);
static int text_printf(char **ret, const char *format, ...) {
        va_list ap;
        int r;

        va_start(ap, format);
        r = vasprintf(ret, format, ap);
        va_end(ap);
        if (r < 0) {
                *ret = NULL;
                return -ENOMEM;
        }
        return 0;
}

/* Version-proof Lean (v4.12 … v4.33, see query-text.h). Each construct that
 * changed over the range, and what is used instead, checked in the lean4
 * sources stored here (the oldest and the newest versions of each file that
 * the search index holds: src/Lean/Environment.lean, Meta/Instances.lean,
 * ReducibilityAttrs.lean, Declaration.lean):
 *   - ModuleIdx: `def ModuleIdx := Nat` with `abbrev ModuleIdx.toNat` in
 *     both; `GetElem (Array α) ModuleIdx` only in the newer ones. Arrays are
 *     indexed with `idx.toNat`. `env.header.moduleNames` is a field in the
 *     older, a function of `header.modules` in the newer: dot notation works
 *     for both.
 *   - instances: `Meta.isInstanceCore env n` only in the newer;
 *     `Meta.isInstance n : CoreM Bool` in both.
 *   - ReducibilityStatus: no BEq in the older (`deriving Inhabited, Repr`):
 *     compared with `matches`, not `==`.
 *   - ConstantInfo.value?: `(allowOpaque := …)` only in the newer, and the
 *     older never returns an opaque's value: the constructors are matched.
 *   - heartbeats: every program runs under `set_option maxHeartbeats 0 in`
 *     (pretty-printing a large module's types exceeds the default 200000);
 *     each bounds its own work instead: one module's constants, one
 *     declaration, `limit` search results; the request timeout bounds the
 *     rest. */
#define PROGRAM_PREFIX "set_option maxHeartbeats 0 in\nopen Lean Meta in\n#eval show MetaM Unit from do\n"

/* The kind names of tool-schemas.c's KINDS_ENUM, as a local MetaM function. */
#define KIND_FN                                                                                  \
        "  let kindOf : Name → ConstantInfo → MetaM String := fun n ci => do\n"                  \
        "    match ci with\n"                                                                    \
        "    | .axiomInfo _ => pure \"axiom\"\n"                                                 \
        "    | .thmInfo _ => pure \"theorem\"\n"                                                 \
        "    | .opaqueInfo _ => pure \"opaque\"\n"                                               \
        "    | .quotInfo _ => pure \"other\"\n"                                                  \
        "    | .ctorInfo _ => pure \"ctor\"\n"                                                   \
        "    | .recInfo _ => pure \"recursor\"\n"                                                \
        "    | .inductInfo _ =>\n"                                                               \
        "      pure (if isClass env n then \"class\" else if isStructure env n then \"structure\" else \"inductive\")\n" \
        "    | .defnInfo _ =>\n"                                                                 \
        "      if (← Lean.Meta.isInstance n) then pure \"instance\"\n"                           \
        "      else if (← getReducibilityStatus n) matches .reducible then pure \"abbrev\"\n"     \
        "      else pure \"def\"\n"

#define EMIT(tag, fields) "IO.println (\"" tag "\" ++ (Json.mkObj " fields ").compress)"

int lean_query_module_decls(const char *module, char **ret) {
        _cleanup_free_ char *lit = NULL;

        if (!lean_module_name_is_valid(module))
                return -EINVAL;
        lit = lean_string_literal(module);
        if (!lit)
                return -ENOMEM;
        return text_printf(ret,
                PROGRAM_PREFIX
                "  let env ← getEnv\n"
                "  let mod := String.toName %s\n"
                KIND_FN
                "  let some idx := env.getModuleIdx? mod\n"
                "    | " EMIT(LEAN_QUERY_TAG_ERROR, "[(\"code\", toJson \"module_not_imported\"), (\"module\", toJson mod.toString)]") "\n"
                "  let mut count := 0\n"
                "  for n in env.header.moduleData[idx.toNat]!.constNames do\n"
                "    if n.isInternal then continue\n"
                "    let some ci := env.find? n | continue\n"
                "    let kind ← kindOf n ci\n"
                "    let ty := (← ppExpr ci.type).pretty\n"
                "    let mut fields : List (String × Json) :=\n"
                "      [(\"name\", toJson n.toString), (\"kind\", toJson kind), (\"type\", toJson ty)]\n"
                "    if let some d := (← findDocString? env n) then fields := fields ++ [(\"doc\", toJson d)]\n"
                "    if let some r := (← findDeclarationRanges? n) then\n"
                "      fields := fields ++ [(\"line\", toJson r.range.pos.line), (\"column\", toJson r.range.pos.column)]\n"
                "    " EMIT(LEAN_QUERY_TAG_DECL, "fields") "\n"
                "    count := count + 1\n"
                "  " EMIT(LEAN_QUERY_TAG_END, "[(\"count\", toJson count)]") "\n",
                lit);
}

int lean_query_inspect(const char *name, bool include_value, unsigned max_chars, char **ret) {
        _cleanup_free_ char *lit = NULL;

        if (!lean_decl_name_is_valid(name))
                return -EINVAL;
        lit = lean_string_literal(name);
        if (!lit)
                return -ENOMEM;
        return text_printf(ret,
                PROGRAM_PREFIX
                "  let env ← getEnv\n"
                "  let n := String.toName %s\n"
                KIND_FN
                "  let some ci := env.find? n\n"
                "    | " EMIT(LEAN_QUERY_TAG_ERROR, "[(\"code\", toJson \"unknown_declaration\"), (\"name\", toJson n.toString)]") "\n"
                "  let mut fields : List (String × Json) :=\n"
                "    [(\"name\", toJson n.toString), (\"kind\", toJson (← kindOf n ci)),\n"
                "     (\"type\", toJson (← ppExpr ci.type).pretty)]\n"
                "  if let some d := (← findDocString? env n) then fields := fields ++ [(\"doc\", toJson d)]\n"
                "  if let some i := env.getModuleIdxFor? n then\n"
                "    fields := fields ++ [(\"module\", toJson env.header.moduleNames[i.toNat]!.toString)]\n"
                "  if let some r := (← findDeclarationRanges? n) then\n"
                "    fields := fields ++ [(\"line\", toJson r.range.pos.line), (\"column\", toJson r.range.pos.column)]\n"
                "  let value? : Option Expr := match ci with\n"
                "    | .defnInfo v => some v.value\n"
                "    | .thmInfo v => some v.value\n"
                "    | .opaqueInfo v => some v.value\n"
                "    | _ => none\n"
                "  if %s then\n"
                "    if let some v := value? then\n"
                "      let s := (← ppExpr v).pretty\n"
                "      fields := fields ++ [(\"value\", toJson (s.take %u)), (\"value_chars\", toJson s.length)]\n"
                "  let axs ← collectAxioms n\n"
                "  fields := fields ++ [(\"axioms\", toJson (axs.map (·.toString)))]\n"
                "  " EMIT(LEAN_QUERY_TAG_DECL, "fields") "\n",
                lit, include_value ? "true" : "false", max_chars);
}

int lean_query_search(const char *fragment, const char *type_fragment, unsigned limit, char **ret) {
        _cleanup_free_ char *lit = NULL, *tlit = NULL, *topt = NULL;
        int r;

        if (isempty(fragment) || limit == 0)
                return -EINVAL;
        lit = lean_string_literal(fragment);
        if (!lit)
                return -ENOMEM;
        if (!isempty(type_fragment)) {
                tlit = lean_string_literal(type_fragment);
                if (!tlit)
                        return -ENOMEM;
                r = text_printf(&topt, "some %s", tlit);
        } else
                r = text_printf(&topt, "none");
        if (r < 0)
                return r;
        /* name matches are collected purely (cheap), types printed only for
         * the kept candidates; exact/prefix matches are kept apart so a cap
         * on substring matches never hides them */
        return text_printf(ret,
                PROGRAM_PREFIX
                "  let env ← getEnv\n"
                "  let frag := (%s).toLower\n"
                "  let tfrag : Option String := (%s).map String.toLower\n"
                "  let limit := %u\n"
                "  let cap := limit * 50\n"
                KIND_FN
                "  let (good, rest) := env.constants.fold (fun (acc : Array Name × Array Name) n _ =>\n"
                "    let (g, r) := acc\n"
                "    if n.isInternal then acc else\n"
                "    let s := n.toString.toLower\n"
                "    let last := (s.splitOn \".\").getLast!\n"
                "    if (s.splitOn frag).length ≤ 1 then acc\n"
                "    else if s.startsWith frag || last.startsWith frag then\n"
                "      (if g.size < cap then g.push n else g, r)\n"
                "    else (g, if r.size < cap then r.push n else r)) (#[], #[])\n"
                "  let mut count := 0\n"
                "  for n in good ++ rest do\n"
                "    if count ≥ limit then break\n"
                "    let some ci := env.find? n | continue\n"
                "    let ty := (← ppExpr ci.type).pretty\n"
                "    if let some tf := tfrag then\n"
                "      if (ty.toLower.splitOn tf).length ≤ 1 then continue\n"
                "    " EMIT(LEAN_QUERY_TAG_DECL, "[(\"name\", toJson n.toString), (\"kind\", toJson (← kindOf n ci)), (\"type\", toJson ty)]") "\n"
                "    count := count + 1\n"
                "  " EMIT(LEAN_QUERY_TAG_END, "[(\"count\", toJson count), (\"capped\", toJson (good.size ≥ cap || rest.size ≥ cap))]") "\n",
                lit, topt, limit);
}

static bool word_at(const char *s, const char *word, const char **ret_rest) {
        size_t n = strlen(word);

        if (strncmp(s, word, n) != 0 || !(s[n] == ' ' || s[n] == '\t' || s[n] == '\n'))
                return false;
        *ret_rest = s + n;
        return true;
}

int lean_query_proof_attempt(const char *goal, const char *tactic, char **ret, const char **ret_reason) {
        _cleanup_free_ char *indented = NULL;
        const char *g, *rest, *reason = NULL;
        bool signature = false;
        size_t n = 0;
        char *o;
        int r;

        if (!goal || !tactic)
                return -EINVAL;
        g = goal + strspn(goal, " \t\n");
        /* "theorem t (n : Nat) : P" / "lemma t …": drop keyword and name, keep binders */
        if (word_at(g, "theorem", &rest) || word_at(g, "lemma", &rest)) {
                rest += strspn(rest, " \t\n");
                rest += strcspn(rest, " \t\n:(");
                g = rest + strspn(rest, " \t\n");
                signature = true;
        } else if (word_at(g, "example", &rest)) {
                g = rest + strspn(rest, " \t\n");
                signature = true;
        } else if (lean_signature_binders_end(g) > 0)
                signature = true;   /* "(a b : Nat) : P" */
        r = lean_user_term_check(g, &reason);
        if (r < 0) {
                if (ret_reason)
                        *ret_reason = reason;
                return r;
        }
        if (signature && !strchr(g, ':')) {
                if (ret_reason)
                        *ret_reason = "has no ':' before the proposition";
                return -EINVAL;
        }
        r = lean_user_term_check(tactic, &reason);
        if (r < 0) {
                if (ret_reason)
                        *ret_reason = reason;
                return r;
        }

        /* every tactic line indented under `by`: relative layout kept */
        for (const char *c = tactic; *c; c++)
                n += *c == '\n' ? 3 : 1;
        indented = malloc(n + 1);
        if (!indented)
                return -ENOMEM;
        o = indented;
        for (const char *c = tactic; *c; c++) {
                *o++ = *c;
                if (*c == '\n') {
                        *o++ = ' ';
                        *o++ = ' ';
                }
        }
        *o = 0;

        /* the goal on lines of its own: a trailing `--` comment in it ends
         * at its newline instead of swallowing ":= by" */
        return text_printf(ret, "theorem _lh_search%s\n%s\n:= by\n  %s", signature ? "" : " :", g, indented);
}

int lean_query_output_lines(const LeanReply *reply, const char *tag, json_object **array) {
        size_t taglen = strlen(tag);
        int found = 0;

        if (!*array) {
                *array = json_object_new_array();
                if (!*array)
                        return -ENOMEM;
        }
        for (size_t i = 0; i < reply->n_messages; i++) {
                const LeanMessage *m = &reply->messages[i];
                const char *line = m->data;

                if (m->severity != LEAN_SEVERITY_INFO)
                        continue;
                while (line && *line) {
                        const char *eol = strchrnul(line, '\n');

                        if ((size_t) (eol - line) > taglen && strncmp(line, tag, taglen) == 0) {
                                _cleanup_free_ char *text = strndup(line + taglen, eol - line - taglen);
                                json_object *o;

                                if (!text)
                                        return -ENOMEM;
                                o = json_tokener_parse(text);
                                if (o && json_object_is_type(o, json_type_object)) {
                                        if (json_object_array_add(*array, o) < 0) {
                                                json_object_put(o);
                                                return -ENOMEM;
                                        }
                                        found++;
                                } else
                                        json_object_put(o);
                        }
                        line = *eol ? eol + 1 : eol;
                }
        }
        return found;
}

int lean_query_output_read(const LeanReply *reply, LeanQueryOutput *out) {
        assert(reply);
        assert(out);

        if (lean_query_output_lines(reply, LEAN_QUERY_TAG_DECL, &out->decls) < 0 ||
            lean_query_output_lines(reply, LEAN_QUERY_TAG_ERROR, &out->errors) < 0 ||
            lean_query_output_lines(reply, LEAN_QUERY_TAG_END, &out->ends) < 0)
                return -ENOMEM;
        return 0;
}

/* This module's check, then lean/commands.c's token-level one (see there). */
int lean_user_term_check(const char *text, const char **ret_reason) {
        _cleanup_free_ char *why = NULL;
        int r;

        r = user_term_check_basic(text, ret_reason);
        if (r < 0)
                return r;
        r = lean_commands_user_text_check(text, LEAN_COMMANDS_TEXT_TERM, &why);
        if (r == -EINVAL && ret_reason)
                *ret_reason = "contains text Lean could read as the start of a new command";
        return r;
}

char *lean_query_with_header(const char *module, const char *program) {
        char *s;

        if (asprintf(&s, "import Lean\nimport %s\n%s", module, program) < 0)
                return NULL;
        return s;
}
