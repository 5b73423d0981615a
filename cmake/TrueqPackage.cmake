# TrueqPackage.cmake — the shared library, symbol visibility and `cmake --install`.
#
# Included at the end of the top-level CMakeLists.txt, after the `trueq` static
# library and the `trueq_cli` executable are defined. It adds:
#   trueq_shared   libtrueq.so.<version>, built from the static library's very
#                  objects (compiled once, position-independent), exporting the
#                  public API and nothing else;
#   install rules  bin/trueq, lib/libtrueq.a, lib/libtrueq.so*, include/trueq*.h,
#                  lib/pkgconfig/trueq.pc, lib/cmake/trueq/ (find_package(trueq)),
#                  share/doc/trueq/ (README and docs), share/man/man1/trueq.1;
#   component python  what the Python wheel holds (pyproject.toml):
#                  trueq/libtrueq.so and trueq/bin/trueq.
#
# Exported symbols: exactly the functions the public headers (include/trueq*.h)
# declare. A linker version script generated from those headers at build time
# (cmake/exports.cmake: global = each declared function, local = everything
# else) keeps every internal symbol, tq_-prefixed or not, out of the dynamic
# symbol table, so no export macro is needed in the headers.
# tests/cli/install.sh checks the result with nm against the headers.
# (-fvisibility=hidden would hide the public functions as well without such a
# macro, so the version script alone decides.)

include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set_target_properties(trueq PROPERTIES POSITION_INDEPENDENT_CODE ON)

file(GLOB TQ_PUBLIC_HEADERS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/include/trueq*.h)
set(TQ_EXPORT_MAP ${CMAKE_BINARY_DIR}/generated/trueq.map)
add_custom_command(OUTPUT ${TQ_EXPORT_MAP}
  COMMAND ${CMAKE_COMMAND} -DCC=${CMAKE_C_COMPILER} -DINCLUDE=${CMAKE_SOURCE_DIR}/include
          "-DHEADERS=${TQ_PUBLIC_HEADERS}" -DOUT=${TQ_EXPORT_MAP} -P ${CMAKE_SOURCE_DIR}/cmake/exports.cmake
  DEPENDS ${TQ_PUBLIC_HEADERS} ${CMAKE_SOURCE_DIR}/cmake/exports.cmake VERBATIM)
add_custom_target(trueq_exports DEPENDS ${TQ_EXPORT_MAP})

get_target_property(_tq_deps trueq LINK_LIBRARIES)
add_library(trueq_shared SHARED $<TARGET_OBJECTS:trueq>)
target_link_libraries(trueq_shared PRIVATE ${_tq_deps})
target_include_directories(trueq_shared INTERFACE ${CMAKE_SOURCE_DIR}/include)
set_target_properties(trueq_shared PROPERTIES OUTPUT_NAME trueq VERSION ${PROJECT_VERSION}
                      SOVERSION ${PROJECT_VERSION_MAJOR}.${PROJECT_VERSION_MINOR}
                      LINK_DEPENDS ${TQ_EXPORT_MAP})
add_dependencies(trueq_shared trueq_exports)
target_link_options(trueq_shared PRIVATE -Wl,--version-script=${TQ_EXPORT_MAP})
if(NOT TQ_SANITIZE)   # sanitizer runtimes stay undefined in a shared object
  target_link_options(trueq_shared PRIVATE -Wl,--no-undefined)
endif()

# ---- cmake --install --------------------------------------------------------
install(TARGETS trueq_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT runtime)
install(TARGETS trueq ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT devel)
install(TARGETS trueq_shared LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT runtime)
install(FILES ${TQ_PUBLIC_HEADERS} DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT devel)

# pkg-config: -ltrueq (the shared library); --static adds what libtrueq.a needs.
set(TQ_PC_LIBS_PRIVATE "")
foreach(d ${_tq_deps})
  if(d STREQUAL "ZLIB::ZLIB")
    string(APPEND TQ_PC_LIBS_PRIVATE " -lz")
  elseif(d STREQUAL "Threads::Threads")
    string(APPEND TQ_PC_LIBS_PRIVATE " -pthread")
  elseif(d MATCHES "/lib([^/]+)\\.(so|a)[^/]*$")
    string(APPEND TQ_PC_LIBS_PRIVATE " -l${CMAKE_MATCH_1}")
  elseif(NOT d MATCHES "::")
    string(APPEND TQ_PC_LIBS_PRIVATE " -l${d}")
  endif()
endforeach()
string(STRIP "${TQ_PC_LIBS_PRIVATE}" TQ_PC_LIBS_PRIVATE)
# Relocatable: the prefix is found from the .pc file's own place (${pcfiledir}),
# so `cmake --install --prefix P` and a moved tree both work.
file(RELATIVE_PATH TQ_PC_TO_PREFIX /prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig /prefix)
string(REGEX REPLACE "/$" "" TQ_PC_TO_PREFIX "${TQ_PC_TO_PREFIX}")
configure_file(${CMAKE_SOURCE_DIR}/cmake/trueq.pc.in ${CMAKE_BINARY_DIR}/generated/trueq.pc @ONLY)
install(FILES ${CMAKE_BINARY_DIR}/generated/trueq.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig COMPONENT devel)

# find_package(trueq): imported targets trueq::trueq (shared) and trueq::trueq_static.
set(TQ_CMAKE_DEPS "")
foreach(d ${_tq_deps})
  if(NOT d MATCHES "::")
    list(APPEND TQ_CMAKE_DEPS ${d})
  endif()
endforeach()
configure_package_config_file(${CMAKE_SOURCE_DIR}/cmake/trueqConfig.cmake.in
  ${CMAKE_BINARY_DIR}/generated/trueqConfig.cmake INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/trueq
  PATH_VARS CMAKE_INSTALL_INCLUDEDIR CMAKE_INSTALL_LIBDIR)
write_basic_package_version_file(${CMAKE_BINARY_DIR}/generated/trueqConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_BINARY_DIR}/generated/trueqConfig.cmake ${CMAKE_BINARY_DIR}/generated/trueqConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/trueq COMPONENT devel)

# Documentation: the README and docs/ under share/doc/trueq, and a man page
# made from `trueq --help` and each command's --help (cmake/manpage.cmake).
install(FILES ${CMAKE_SOURCE_DIR}/README.md ${CMAKE_SOURCE_DIR}/LICENSE DESTINATION ${CMAKE_INSTALL_DOCDIR} COMPONENT doc)
install(DIRECTORY ${CMAKE_SOURCE_DIR}/docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR} COMPONENT doc)
add_custom_command(OUTPUT ${CMAKE_BINARY_DIR}/generated/trueq.1
  COMMAND ${CMAKE_COMMAND} -DTQ_CLI=$<TARGET_FILE:trueq_cli> -DTQ_VERSION=${PROJECT_VERSION}
          -DOUT=${CMAKE_BINARY_DIR}/generated/trueq.1 -P ${CMAKE_SOURCE_DIR}/cmake/manpage.cmake
  DEPENDS trueq_cli ${CMAKE_SOURCE_DIR}/cmake/manpage.cmake VERBATIM)
add_custom_target(trueq_manpage ALL DEPENDS ${CMAKE_BINARY_DIR}/generated/trueq.1)
install(FILES ${CMAKE_BINARY_DIR}/generated/trueq.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1 COMPONENT doc)

# ---- the Python wheel (scikit-build-core sets SKBUILD; component python) ----
install(FILES $<TARGET_FILE:trueq_shared> DESTINATION trueq RENAME libtrueq.so COMPONENT python EXCLUDE_FROM_ALL)
install(PROGRAMS $<TARGET_FILE:trueq_cli> DESTINATION trueq/bin COMPONENT python EXCLUDE_FROM_ALL)

# The install and Python tests run under sanitizers too, and need to know.
foreach(t cli_install cli_python cli_mlx_codec cli_mlx_client cli_mlx_mxfp cli_qtools_real cli_st_writers cli_sweep cli_minilm_bar cli_gptq)
  if(TEST ${t})
    set_property(TEST ${t} APPEND PROPERTY ENVIRONMENT "TQ_SANITIZE=$<BOOL:${TQ_SANITIZE}>;TQ_CC=${CMAKE_C_COMPILER}")
  endif()
endforeach()
