# RINGLOG_SANITIZE applies to every target in the tree, so the daemon, its library and the tests
# that drive it are instrumented alike.
if(RINGLOG_SANITIZE)
  message(STATUS "ringlogd: sanitizers ${RINGLOG_SANITIZE}")
  add_compile_options(-fsanitize=${RINGLOG_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${RINGLOG_SANITIZE})
endif()

# RINGLOG_FUZZ: every library gets libFuzzer's coverage instrumentation (fuzzer-no-link), so the
# fuzzers of tests/fuzz are guided through the product's code, not only their own; the fuzzers
# themselves link libFuzzer (ringlog_add_fuzzer, tests/fuzz/CMakeLists.txt).
if(RINGLOG_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang" OR NOT CMAKE_C_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "RINGLOG_FUZZ needs clang and clang++ (libFuzzer): use the fuzz preset")
  endif()
  message(STATUS "ringlogd: libFuzzer fuzzers (tests/fuzz)")
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()
