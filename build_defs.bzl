"""Common C++ flags and thin wrappers around the native C++ rules (C++20 comes from .bazelrc)."""

SAFENIC_COPTS = [
    "-Wall",
    "-Wextra",
    "-Werror",
    "-Wno-unused-parameter",
]

def safenic_cc_library(name, copts = [], **kwargs):
    native.cc_library(name = name, copts = SAFENIC_COPTS + copts, **kwargs)

def safenic_cc_test(name, copts = [], **kwargs):
    native.cc_test(name = name, copts = SAFENIC_COPTS + copts, **kwargs)

def safenic_cc_binary(name, copts = [], **kwargs):
    native.cc_binary(name = name, copts = SAFENIC_COPTS + copts, **kwargs)
