/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The kernel facts in the runtime facts: values on cgroup v2, JSON null
 * (never 0) on cgroup v1 and in process mode. */
#include "basic/tests.h"
#include "project/facts.h"

static json_object *get(json_object *o, const char *key) {
        json_object *v = NULL;

        ASSERT_TRUE(json_object_object_get_ex(o, key, &v));
        return v;
}

static void test_kernel_facts_v2(void) {
        LhFacts f = {
                .enforcement = ENFORCEMENT_MODE_SCOPE,
                .anon_kib = 51200,
                .swap_valid = true,
                .swap_kib = 0,
                .events_valid = true,
                .memory_events_high = 0,
                .memory_events_max = 35,
                .memory_events_oom_kill = 1,
                .pressure_valid = true,
                .memory_pressure_some_avg10 = 12.5,
                .memory_pressure_full_avg10 = 0.25,
        };
        json_object *o = facts_to_json(&f), *ev, *psi;

        ASSERT_TRUE(o);
        /* swap 0 is a value when known */
        ASSERT_TRUE(json_object_is_type(get(o, "swap_kib"), json_type_int));
        ASSERT_EQ(json_object_get_int64(get(o, "swap_kib")), 0);
        ev = get(o, "memory_events");
        ASSERT_EQ(json_object_get_int64(get(ev, "high")), 0);
        ASSERT_EQ(json_object_get_int64(get(ev, "max")), 35);
        ASSERT_EQ(json_object_get_int64(get(ev, "oom_kill")), 1);
        psi = get(o, "memory_pressure");
        ASSERT_TRUE(json_object_get_double(get(psi, "some_avg10")) == 12.5);
        ASSERT_TRUE(json_object_get_double(get(psi, "full_avg10")) == 0.25);
        json_object_put(o);
}

static void test_kernel_facts_absent(void) {
        LhFacts f = { .enforcement = ENFORCEMENT_MODE_PROCESS, .anon_kib = 51200 };
        json_object *o = facts_to_json(&f);

        ASSERT_TRUE(o);
        ASSERT_TRUE(get(o, "swap_kib") == NULL);
        ASSERT_TRUE(get(o, "memory_events") == NULL);
        ASSERT_TRUE(get(o, "memory_pressure") == NULL);
        json_object_put(o);
}

int main(void) {
        test_kernel_facts_v2();
        test_kernel_facts_absent();
        return 0;
}
