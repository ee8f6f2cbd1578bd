# ringlog_set_warnings(target): the warning set every target of ours is built with.
# RINGLOG_WERROR makes them errors: on in the project's presets and CI, off by default so a
# distribution's build (its own compiler and flags) is never broken by a new warning.
option(RINGLOG_WERROR "Treat compiler warnings as errors (the presets and CI turn it on)" OFF)

function(ringlog_set_warnings target)
  target_compile_options(${target} PRIVATE
    -Wall -Wextra -Wpedantic
    -Wshadow -Wnon-virtual-dtor -Wold-style-cast -Wcast-align -Woverloaded-virtual
    -Wconversion -Wno-sign-conversion -Wformat=2 -Wimplicit-fallthrough)
  if(RINGLOG_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

function(ringlog_set_c_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wformat=2 -Wconversion)
  if(RINGLOG_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
