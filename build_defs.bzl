"""Common C++ flags and thin wrappers around the native C++ rules."""

SAFENIC_COPTS = [
    "-Wall",
    "-Wextra",
    "-Werror",
    "-Wno-unused-parameter",
]

# safenic's libraries are C++20 whatever the workspace building them says (a
# consumer's .bazelrc may not): the flag travels with the targets. A consumer's
# own code that includes safenic's headers needs C++20 too; mem/cxx20.h says so.
SAFENIC_LIBRARY_COPTS = ["-std=c++20"]

def safenic_cc_library(name, copts = [], **kwargs):
    native.cc_library(name = name, copts = SAFENIC_COPTS + SAFENIC_LIBRARY_COPTS + copts, **kwargs)

def safenic_cc_test(name, copts = [], **kwargs):
    native.cc_test(name = name, copts = SAFENIC_COPTS + copts, **kwargs)

def safenic_cc_binary(name, copts = [], **kwargs):
    native.cc_binary(name = name, copts = SAFENIC_COPTS + copts, **kwargs)
