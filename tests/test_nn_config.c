/* The shared configuration reader (src/nn/config.c): each kind of bad key has
 * its own message naming the file, the key, the value and the range. */
#include "tq_test.h"
#include "nn/config.h"
#include <math.h>
#include <string.h>

static const char *J = "{\"n\": 12, \"half\": 1.5, \"s\": \"gelu\", \"b\": true, \"neg\": -3, \"nul\": null,"
                       " \"sub\": {\"k\": 7}}";

void tq_tests(void) {
    tq_error err = {0};
    tq_cfg c;
    int i = -1, b = -1;
    float f = -1;
    const char *s = NULL;

    TQ_CASE("valid keys are read; absent and null keys leave the default");
    CHECK_OK(tq_cfg_parse(&c, "cfg.json", J, strlen(J), 0, &err), err);
    CHECK(tq_cfg_int(&c, c.root, "n", &i, 1, 100) == 1 && i == 12);
    CHECK(tq_cfg_float(&c, c.root, "half", &f, 0, 2) == 1 && f == 1.5f);
    CHECK(tq_cfg_string(&c, c.root, "s", &s) == 1 && !strcmp(s, "gelu"));
    CHECK(tq_cfg_bool(&c, c.root, "b", &b) == 1 && b == 1);
    i = 5;
    CHECK(tq_cfg_int(&c, c.root, "absent", &i, 0, 9) == 0 && i == 5);
    CHECK(tq_cfg_int(&c, c.root, "nul", &i, 0, 9) == 0 && i == 5);
    CHECK(tq_cfg_int(&c, tq_cfg_item(c.root, "sub"), "k", &i, 0, 9) == 1 && i == 7);
    static const char *const acts[] = {"relu", "gelu"};
    static const int vals[] = {10, 20};
    CHECK(tq_cfg_choice(&c, c.root, "s", acts, vals, 2, &i) == 1 && i == 20);
    CHECK(tq_cfg_require(&c, c.root, "n") == 1);
    CHECK_EQ_INT(c.st, TQ_OK);
    tq_cfg_close(&c);

    TQ_CASE("missing key: its own message");
    tq_cfg_parse(&c, "cfg.json", J, strlen(J), 0, &err);
    CHECK(tq_cfg_require(&c, c.root, "dim") == 0);
    CHECK_ERR(c.st, err, TQ_E_FORMAT, "cfg.json: \"dim\" is missing");
    tq_cfg_close(&c);

    TQ_CASE("wrong type: names what the value is");
    static const struct { const char *key; int kind; const char *msg; } wrong[] = {
        {"s", 0, "cfg.json: \"s\" must be an integer in [0, 9], not a string"},
        {"b", 1, "cfg.json: \"b\" must be a number in [0, 9], not true"},
        {"n", 2, "cfg.json: \"n\" must be a string, not 12"},
        {"sub", 3, "cfg.json: \"sub\" must be true or false, not an object"},
        {"half", 0, "cfg.json: \"half\" must be an integer in [0, 9], not 1.5"},
    };
    for (size_t k = 0; k < sizeof wrong / sizeof wrong[0]; k++) {
        tq_cfg_parse(&c, "cfg.json", J, strlen(J), 0, &err);
        int r = wrong[k].kind == 0 ? tq_cfg_int(&c, c.root, wrong[k].key, &i, 0, 9)
              : wrong[k].kind == 1 ? tq_cfg_float(&c, c.root, wrong[k].key, &f, 0, 9)
              : wrong[k].kind == 2 ? tq_cfg_string(&c, c.root, wrong[k].key, &s)
                                   : tq_cfg_bool(&c, c.root, wrong[k].key, &b);
        CHECK(r == 0);
        CHECK_ERR(c.st, err, TQ_E_FORMAT, wrong[k].msg);
        tq_cfg_close(&c);
    }

    TQ_CASE("out of range: names the value and the range");
    tq_cfg_parse(&c, "cfg.json", J, strlen(J), 0, &err);
    i = 5;
    CHECK(tq_cfg_int(&c, c.root, "neg", &i, 0, 4096) == 0 && i == 5);
    CHECK_ERR(c.st, err, TQ_E_FORMAT, "cfg.json: \"neg\" must be an integer in [0, 4096], not -3");
    tq_cfg_close(&c);
    tq_cfg_parse(&c, "cfg.json", J, strlen(J), 0, &err);
    CHECK(tq_cfg_float(&c, c.root, "half", &f, 0, 1) == 0);
    CHECK_ERR(c.st, err, TQ_E_FORMAT, "cfg.json: \"half\" must be a number in [0, 1], not 1.5");
    tq_cfg_close(&c);

    TQ_CASE("unsupported choice lists the supported names");
    tq_cfg_parse(&c, "cfg.json", J, strlen(J), 0, &err);
    static const char *const two[] = {"relu", "silu"};
    CHECK(tq_cfg_choice(&c, c.root, "s", two, NULL, 2, &i) == 0);
    CHECK_ERR(c.st, err, TQ_E_UNSUPPORTED, "cfg.json: \"s\" is \"gelu\"; supported: relu, silu");
    tq_cfg_close(&c);

    TQ_CASE("the first error sticks; later getters do nothing");
    tq_cfg_parse(&c, "cfg.json", J, strlen(J), 0, &err);
    tq_cfg_int(&c, c.root, "s", &i, 0, 9);
    i = 99;
    CHECK(tq_cfg_int(&c, c.root, "n", &i, 0, 100) == 0 && i == 99);
    CHECK_ERR(c.st, err, TQ_E_FORMAT, "\"s\" must be an integer");
    tq_cfg_close(&c);

    TQ_CASE("files: not JSON, not an object, arrays when allowed, missing file");
    CHECK_ERR(tq_cfg_parse(&c, "a.json", "{\"x\": ", 6, 0, &err), err, TQ_E_FORMAT, "a.json: not valid JSON");
    CHECK_ERR(tq_cfg_parse(&c, "a.json", "[1]", 3, 0, &err), err, TQ_E_FORMAT, "a.json: not a JSON object");
    CHECK_OK(tq_cfg_parse(&c, "a.json", "[1]", 3, 1, &err), err);
    tq_cfg_close(&c);
    const char *p = tq_t_path("c.json");
    tq_t_write(p, "{\"k\": 3}", 8);
    CHECK_OK(tq_cfg_open(&c, p, 0, &err), err);
    CHECK(tq_cfg_int(&c, c.root, "k", &i, 0, 3) == 1 && i == 3);
    tq_cfg_close(&c);
    CHECK(tq_cfg_open(&c, tq_t_path("absent.json"), 0, &err) != TQ_OK);
    tq_cfg_close(&c);
}
