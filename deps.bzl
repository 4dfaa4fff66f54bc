"""What safenic needs from outside, declared once: for safenic's own WORKSPACE
and for the WORKSPACE of a project that uses it.

    local_repository(name = "safenic", path = "/path/to/safenic")
    load("@safenic//:deps.bzl", "safenic_dependencies")
    safenic_dependencies()

Abseil, GoogleTest and Google Benchmark go by the names their own projects
use (@com_google_absl, @com_google_googletest, @com_github_google_benchmark),
backed by Debian's packages (libabsl-dev, libgtest-dev, libbenchmark-dev;
./bazelw installs them). A workspace that declares one of these names before
the call (its own abseil built from source, say) keeps it, and safenic builds
against that copy: one abseil in the program, not two. libpcap (libpcap-dev)
is @safenic_libpcap, used by the simulator's pcap wire only.

Bazel 4.2.3 as Debian ships it works offline: the rules_cc, rules_java and
remote_coverage_tools that @bazel_tools names are stubs from safenic's
third_party/bazel unless the workspace has its own.
"""

# The Abseil targets safenic uses, by package, each backed by the pkg-config
# module Debian's libabsl-dev installs for it.
_ABSL_TARGETS = {
    "absl/base": {"core_headers": "absl_core_headers"},
    "absl/cleanup": {"cleanup": "absl_cleanup"},
    "absl/flags": {
        "flag": "absl_flags",
        "parse": "absl_flags_parse",
        "usage": "absl_flags_usage",
    },
    "absl/functional": {
        "any_invocable": "absl_any_invocable",
        "function_ref": "absl_function_ref",
    },
    "absl/status": {
        "status": "absl_status",
        "statusor": "absl_statusor",
    },
    "absl/strings": {
        "str_format": "absl_str_format",
        "strings": "absl_strings",
    },
    "absl/synchronization": {"synchronization": "absl_synchronization"},
    "absl/time": {"time": "absl_time"},
    "absl/types": {"span": "absl_span"},
}

def _pkg_config_libs(ctx, module):
    result = ctx.execute(["pkg-config", "--libs", module])
    if result.return_code != 0:
        fail(("pkg-config --libs %s failed (%s). Install Debian's development " +
              "package for it (./bazelw does: libabsl-dev, libgtest-dev, " +
              "libbenchmark-dev, libpcap-dev), or declare @%s yourself before " +
              "safenic_dependencies().") % (module, result.stderr.strip(), ctx.name))
    return result.stdout.strip().split(" ") if result.stdout.strip() else []

def _debian_absl_impl(ctx):
    ctx.file("WORKSPACE", 'workspace(name = "%s")\n' % ctx.name)
    ctx.file("BUILD.bazel", "# Debian's libabsl-dev, under Abseil's own target names.\n")
    for package, targets in _ABSL_TARGETS.items():
        rules = ['package(default_visibility = ["//visibility:public"])\n']
        for target, module in sorted(targets.items()):
            # Headers are in /usr/include, which the compiler searches already.
            rules.append("cc_library(\n    name = %r,\n    linkopts = %r,\n)\n" %
                         (target, _pkg_config_libs(ctx, module)))
        ctx.file(package + "/BUILD.bazel", "\n".join(rules))

_debian_absl = repository_rule(
    implementation = _debian_absl_impl,
    local = True,
    doc = "Debian's Abseil as @com_google_absl//absl/<package>:<target>.",
)

def _debian_libraries_impl(ctx):
    ctx.file("WORKSPACE", 'workspace(name = "%s")\n' % ctx.name)
    rules = ['package(default_visibility = ["//visibility:public"])\n']
    for target, modules in sorted(ctx.attr.targets.items()):
        linkopts = []
        for module in modules:
            # A linker flag as it is (a library without a .pc file), else a pkg-config module.
            linkopts += [module] if module.startswith("-") else _pkg_config_libs(ctx, module)
        rules.append("cc_library(\n    name = %r,\n    linkopts = %r,\n)\n" % (target, linkopts))
    ctx.file("BUILD.bazel", "\n".join(rules))

_debian_libraries = repository_rule(
    implementation = _debian_libraries_impl,
    attrs = {"targets": attr.string_list_dict(
        doc = "target name -> pkg-config modules (or linker flags, starting with -)",
    )},
    local = True,
    doc = "Debian libraries found by pkg-config, as cc_library targets at the root.",
)

def _offline_stub_impl(ctx):
    source = ctx.path(ctx.attr.workspace_file).dirname
    for child in source.readdir():
        ctx.symlink(child, child.basename)

_offline_stub = repository_rule(
    implementation = _offline_stub_impl,
    attrs = {"workspace_file": attr.label(allow_single_file = True)},
    local = True,
    doc = "A directory of safenic's third_party/bazel as a repository of its own.",
)

def _declare(name, rule, **kwargs):
    if not native.existing_rule(name):
        rule(name = name, **kwargs)

def safenic_dependencies():
    """Declares every repository safenic's targets refer to that is not declared yet."""
    for stub in ["rules_cc", "rules_java", "remote_coverage_tools"]:
        _declare(stub, _offline_stub,
                 workspace_file = Label("//third_party/bazel/%s:WORKSPACE" % stub))
    _declare("com_google_absl", _debian_absl)
    _declare("com_google_googletest", _debian_libraries, targets = {
        "gtest": ["gmock", "gtest"],
        "gtest_main": ["gtest_main", "gmock", "gtest"],
    })
    _declare("com_github_google_benchmark", _debian_libraries, targets = {
        "benchmark": ["benchmark"],
        "benchmark_main": ["-lbenchmark_main", "benchmark"],  # (no .pc file)
    })
    _declare("safenic_libpcap", _debian_libraries, targets = {"pcap": ["libpcap"]})
