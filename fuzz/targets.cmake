# fuzz/targets.cmake — included by CMakeLists.txt when TQ_FUZZ=ON, after the
# library: one libFuzzer executable per fuzz/fuzz_*.c (build-fuzz/fuzz_X),
# run by scripts/fuzz_run.sh (`make fuzz`). The fuzz build holds nothing else.
file(GLOB TQ_FUZZ_TARGETS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/fuzz/fuzz_*.c)
include(${CMAKE_SOURCE_DIR}/fuzz/tools.cmake)
foreach(f ${TQ_FUZZ_TARGETS})
  get_filename_component(fn ${f} NAME_WE)
  add_executable(${fn} ${f})
  target_include_directories(${fn} PRIVATE ${CMAKE_SOURCE_DIR}/src)
  target_link_libraries(${fn} PRIVATE trueq)
  tq_fuzz_tools(${fn} ${fn})
  target_link_options(${fn} PRIVATE -fsanitize=fuzzer)
endforeach()
