# ringlog_set_warnings(target): the warning set every target of ours is built with; warnings are errors.
function(ringlog_set_warnings target)
  target_compile_options(${target} PRIVATE
    -Wall -Wextra -Wpedantic -Werror
    -Wshadow -Wnon-virtual-dtor -Wold-style-cast -Wcast-align -Woverloaded-virtual
    -Wconversion -Wno-sign-conversion -Wformat=2 -Wimplicit-fallthrough)
endfunction()

function(ringlog_set_c_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Werror -Wshadow -Wformat=2 -Wconversion)
endfunction()
