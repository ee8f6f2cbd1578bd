# RINGLOG_SANITIZE applies to every target in the tree, so the daemon, its library and the tests
# that drive it are instrumented alike.
if(RINGLOG_SANITIZE)
  message(STATUS "ringlogd: sanitizers ${RINGLOG_SANITIZE}")
  add_compile_options(-fsanitize=${RINGLOG_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${RINGLOG_SANITIZE})
endif()
