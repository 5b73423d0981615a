# fuzz/tools.cmake — the CLI sources (tools/) that a fuzz target's parser lives
# in, compiled into that target (its replay in every build, its libFuzzer
# executable under TQ_FUZZ): fuzz_recipe (the JSON recipe reader,
# tools/convert_plan.c) and fuzz_plan (batch's YAML model list,
# tools/plan_file.c, over libyaml, which is linked uninstrumented).
# Included by CMakeLists.txt and fuzz/targets.cmake.
find_library(TQ_FUZZ_YAML_LIB yaml REQUIRED)
set(TQ_FUZZ_TOOLS_fuzz_recipe tools/convert_plan.c tools/cli_num.c tools/cli_json.c)
set(TQ_FUZZ_TOOLS_fuzz_plan tools/plan_file.c)
function(tq_fuzz_tools target fn)
  if(DEFINED TQ_FUZZ_TOOLS_${fn})
    foreach(s ${TQ_FUZZ_TOOLS_${fn}})
      target_sources(${target} PRIVATE ${CMAKE_SOURCE_DIR}/${s})
    endforeach()
    target_include_directories(${target} PRIVATE ${CMAKE_SOURCE_DIR}/tools ${CJSON_INCLUDE})
    if(fn STREQUAL "fuzz_plan")
      target_link_libraries(${target} PRIVATE ${TQ_FUZZ_YAML_LIB})
    endif()
  endif()
endfunction()
