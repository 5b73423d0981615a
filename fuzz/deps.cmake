# fuzz/deps.cmake — included by CMakeLists.txt when TQ_FUZZ=ON, before the
# dependencies are looked up. Sets the libFuzzer + ASan + UBSan flags for
# everything built, and compiles cJSON, zlib and utf8proc from their sources
# (TQ_FUZZ_DEPS, filled by scripts/fuzz_deps.sh) with the same
# instrumentation, so fuzzing covers the JSON, deflate and UTF-8 code that
# trueq's parsers call. The variables the library links against
# (CJSON_INCLUDE, CJSON_LIB, UTF8PROC_LIB, ZLIB::ZLIB) then name these builds.
if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
  message(FATAL_ERROR "TQ_FUZZ=ON needs clang (libFuzzer): -DCMAKE_C_COMPILER=clang")
endif()
set(TQ_FUZZ_DEPS "" CACHE PATH "directory holding cjson/, zlib/, utf8proc/ sources (scripts/fuzz_deps.sh)")
if(NOT EXISTS "${TQ_FUZZ_DEPS}/cjson/cJSON.c" OR NOT EXISTS "${TQ_FUZZ_DEPS}/zlib/inflate.c"
   OR NOT EXISTS "${TQ_FUZZ_DEPS}/utf8proc/utf8proc.c")
  message(FATAL_ERROR "TQ_FUZZ_DEPS=${TQ_FUZZ_DEPS} lacks the cJSON/zlib/utf8proc sources; run scripts/fuzz_deps.sh DIR first")
endif()
add_compile_options(-g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined
                    -fno-sanitize-recover=all)
add_link_options(-fsanitize=address,undefined)

# cJSON: the sources include "cJSON.h"; trueq includes <cjson/cJSON.h>.
file(COPY ${TQ_FUZZ_DEPS}/cjson/cJSON.h DESTINATION ${CMAKE_BINARY_DIR}/fuzz-include/cjson)
add_library(tq_fuzz_cjson STATIC ${TQ_FUZZ_DEPS}/cjson/cJSON.c)
target_compile_options(tq_fuzz_cjson PRIVATE -w)
set(CJSON_INCLUDE ${CMAKE_BINARY_DIR}/fuzz-include CACHE PATH "" FORCE)
set(CJSON_LIB tq_fuzz_cjson CACHE STRING "" FORCE)

set(TQ_ZLIB_SRC adler32 compress crc32 deflate gzclose gzlib gzread gzwrite infback inffast inflate inftrees
    trees uncompr zutil)
list(TRANSFORM TQ_ZLIB_SRC PREPEND ${TQ_FUZZ_DEPS}/zlib/)
list(TRANSFORM TQ_ZLIB_SRC APPEND .c)
add_library(tq_fuzz_zlib STATIC ${TQ_ZLIB_SRC})
target_compile_options(tq_fuzz_zlib PRIVATE -w)
target_compile_definitions(tq_fuzz_zlib PRIVATE HAVE_UNISTD_H HAVE_STDARG_H)
target_include_directories(tq_fuzz_zlib PUBLIC ${TQ_FUZZ_DEPS}/zlib)
add_library(ZLIB::ZLIB ALIAS tq_fuzz_zlib)   # FindZLIB leaves an existing ZLIB::ZLIB alone

add_library(tq_fuzz_utf8proc STATIC ${TQ_FUZZ_DEPS}/utf8proc/utf8proc.c)
# utf8proc_map sizes its output with a NULL buffer (`buffer + wpos`, NULL + 0):
# UB by the letter that UBSan's pointer-overflow check reports on every
# normalisation; utf8proc's own, harmless in practice, so that check is off
# for utf8proc alone (everything else, trueq included, keeps it).
target_compile_options(tq_fuzz_utf8proc PRIVATE -w -fno-sanitize=pointer-overflow)
target_compile_definitions(tq_fuzz_utf8proc PUBLIC UTF8PROC_STATIC)
target_include_directories(tq_fuzz_utf8proc PUBLIC ${TQ_FUZZ_DEPS}/utf8proc)
set(UTF8PROC_LIB tq_fuzz_utf8proc CACHE STRING "" FORCE)
