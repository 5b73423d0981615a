/* test_error.c — the tq_err helpers: a wrapper never changes the status its
 * caller passes (NULL error included), messages are prefixed and bounded. */
#include "tq_test.h"
#include "core/internal.h"

void tq_tests(void) {
    TQ_CASE("tq_err and tq_err_prefix return the caller's status, also without an error struct");
    for (int s = 0; s < TQ_STATUS_COUNT; s++) {
        CHECK_EQ_INT(tq_err(NULL, (tq_status)s, "x %d", s), s);
        CHECK_EQ_INT(tq_err_prefix(NULL, (tq_status)s, "tensor \"%s\"", "w"), s);
    }

    TQ_CASE("tq_err_prefix: prefixes the message, sets the status it is given");
    tq_error e;
    tq_err(&e, TQ_E_FORMAT, "bad header");
    CHECK_EQ_INT(tq_err_prefix(&e, TQ_E_FORMAT, "%s", "model.safetensors"), TQ_E_FORMAT);
    CHECK(strcmp(e.msg, "model.safetensors: bad header") == 0);
    CHECK_EQ_INT(e.status, TQ_E_FORMAT);
    /* a callee that failed without filling the error: the caller's status stands */
    tq_err_clear(&e);
    CHECK_EQ_INT(tq_err_prefix(&e, TQ_E_IO, "reading %s", "f"), TQ_E_IO);
    CHECK_EQ_INT(e.status, TQ_E_IO);
    CHECK(strcmp(e.msg, "reading f: ") == 0);
    /* an error struct holding another status than the one returned: the returned one wins */
    tq_err(&e, TQ_E_INTERNAL, "stale");
    CHECK_EQ_INT(tq_err_prefix(&e, TQ_E_NOMEM, "t"), TQ_E_NOMEM);
    CHECK_EQ_INT(e.status, TQ_E_NOMEM);

    TQ_CASE("tq_err_prefix: a long prefix and a long message stay within the buffer, NUL-terminated");
    char big[2000];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = 0;
    tq_err(&e, TQ_E_SHAPE, "%s", big);
    CHECK_EQ_INT(strlen(e.msg), sizeof e.msg - 1);
    CHECK_EQ_INT(tq_err_prefix(&e, TQ_E_SHAPE, "%.600s", big), TQ_E_SHAPE);
    CHECK(strlen(e.msg) < sizeof e.msg);
    CHECK(strncmp(e.msg, big, 511) == 0 && e.msg[511] == ':');

    TQ_CASE("status names: one per status, distinct; out of range is unknown");
    for (int s = 0; s < TQ_STATUS_COUNT; s++) {
        CHECK(strcmp(tq_status_str((tq_status)s), "unknown status") != 0);
        for (int t = 0; t < s; t++) CHECK(strcmp(tq_status_str((tq_status)s), tq_status_str((tq_status)t)) != 0);
    }
    CHECK(strcmp(tq_status_str(TQ_STATUS_COUNT), "unknown status") == 0);
    CHECK(strcmp(tq_status_str((tq_status)-1), "unknown status") == 0);
}
