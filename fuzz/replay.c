/*
 * replay.c — run a libFuzzer target over a corpus directory without libFuzzer,
 * so CI replays every corpus with plain gcc (and under ASan+UBSan in the
 * sanitizer build). Usage: fuzz_X_replay DIR_OR_FILE...
 * Build a real fuzzer with: clang -fsanitize=fuzzer,address fuzz/fuzz_X.c ...
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) { fprintf(stderr, "replay: cannot open %s\n", path); return 1; }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    uint8_t *buf = malloc(n > 0 ? (size_t)n : 1);
    if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) { fclose(f); free(buf); return 1; }
    fclose(f);
    LLVMFuzzerTestOneInput(buf, (size_t)n);
    free(buf);
    return 0;
}

static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int main(int argc, char **argv) {
    int files = 0, bad = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) { fprintf(stderr, "replay: %s: no such corpus\n", argv[i]); return 1; }
        if (!S_ISDIR(st.st_mode)) { bad += run_file(argv[i]); files++; continue; }
        DIR *d = opendir(argv[i]);
        struct dirent *de;
        char **names = NULL; int n = 0;
        while (d && (de = readdir(d))) {
            if (de->d_name[0] == '.') continue;
            names = realloc(names, sizeof(char *) * (size_t)(n + 1));
            names[n] = malloc(strlen(argv[i]) + strlen(de->d_name) + 2);
            sprintf(names[n++], "%s/%s", argv[i], de->d_name);
        }
        if (d) closedir(d);
        qsort(names, (size_t)n, sizeof(char *), cmp);
        for (int k = 0; k < n; k++) { bad += run_file(names[k]); files++; free(names[k]); }
        free(names);
    }
    printf("replayed %d inputs\n", files);
    if (files == 0) { fprintf(stderr, "replay: empty corpus\n"); return 1; }
    return bad ? 1 : 0;
}
