#include "tests/vhost_user/testpmd.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"

extern char** environ;

namespace safenic::testing {
namespace {

std::string tail(const std::string& log, size_t lines) {
  size_t pos = log.size();
  for (size_t n = 0; n <= lines && pos != std::string::npos && pos > 0; ++n) {
    pos = log.rfind('\n', pos - 1);
  }
  return pos == std::string::npos ? log : log.substr(pos + 1);
}

}  // namespace

absl::StatusOr<std::string> Testpmd::binary() {
  std::vector<std::string> dirs = {"/usr/bin", "/usr/local/bin"};
  if (const char* path = std::getenv("PATH")) {
    for (absl::string_view d : absl::StrSplit(path, ':')) dirs.emplace_back(d);
  }
  for (const std::string& d : dirs) {
    const std::string candidate = d + "/dpdk-testpmd";
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return absl::NotFoundError(
      "dpdk-testpmd not found: install Debian's DPDK (./bazelw installs dpdk-dev and the "
      "vhost/virtio PMDs; by hand: apt-get install dpdk-dev librte-net-vhost23)");
}

absl::StatusOr<std::unique_ptr<Testpmd>> Testpmd::start(const TestpmdConfig& config) {
  auto bin = binary();
  if (!bin.ok()) return bin.status();
  auto t = std::unique_ptr<Testpmd>(new Testpmd());
  // Unix socket paths are limited to 108 bytes: /tmp, not Bazel's long TMPDIR.
  char dir[] = "/tmp/safenic-vu-XXXXXX";
  if (mkdtemp(dir) == nullptr) {
    return absl::InternalError(absl::StrFormat("mkdtemp: %s", std::strerror(errno)));
  }
  t->dir_ = dir;
  t->socket_ = t->dir_ + "/vhost.sock";
  t->prefix_ = absl::StrFormat("safenic-%d-%s", getpid(), t->dir_.substr(16));
  const char* outputs = std::getenv("TEST_UNDECLARED_OUTPUTS_DIR");
  t->log_ = absl::StrFormat("%s/testpmd-%s-%s.log", outputs ? outputs : t->dir_.c_str(),
                            config.forward_mode, t->dir_.substr(16));
  const std::string lcores = absl::StrFormat("0@%d,1@%d", config.cpu, config.cpu);
  std::vector<std::string> args = {
      *bin,
      "--lcores",
      lcores,
      "-n",
      "4",
      "--no-pci",
      "--no-huge",
      "--no-shconf",
      "-m",
      "256",
      "--file-prefix=" + t->prefix_,
      "--vdev",
      absl::StrFormat("net_vhost0,iface=%s,queues=%d", t->socket_, config.queues),
      "--",
      "--forward-mode=" + config.forward_mode,
      "--stats-period",
      "1",
      "--nb-cores=1",
      absl::StrFormat("--rxq=%d", config.queues),
      absl::StrFormat("--txq=%d", config.queues),
      "--burst=32",
      "--total-num-mbufs=8192",
      "--txd=1024",
      "--rxd=1024",
      "--auto-start"};
  args.insert(args.end(), config.extra_args.begin(), config.extra_args.end());
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, t->log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  const int err = posix_spawn(&t->pid_, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (err != 0) {
    t->pid_ = -1;
    return absl::InternalError(absl::StrFormat("spawning %s: %s", *bin, std::strerror(err)));
  }
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  for (;;) {
    struct stat st;
    if (stat(t->socket_.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) return t;
    int wstatus;
    if (waitpid(t->pid_, &wstatus, WNOHANG) == t->pid_) {
      t->pid_ = -1;
      return absl::FailedPreconditionError(
          absl::StrFormat("dpdk-testpmd exited before creating %s; the end of its log:\n%s",
                          t->socket_, tail(t->read_log(), 25)));
    }
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError(
          absl::StrFormat("dpdk-testpmd did not create %s within 20 s; the end of its log:\n%s",
                          t->socket_, tail(t->read_log(), 25)));
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
}

std::string Testpmd::read_log() const {
  std::ifstream in(log_);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

absl::StatusOr<std::string> Testpmd::stop() {
  if (pid_ < 0) return absl::FailedPreconditionError("testpmd is not running");
  kill(pid_, SIGINT);
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  int wstatus = 0;
  while (waitpid(pid_, &wstatus, WNOHANG) == 0) {
    if (absl::Now() > deadline) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &wstatus, 0);
      pid_ = -1;
      return absl::DeadlineExceededError(absl::StrFormat(
          "dpdk-testpmd did not stop within 10 s of SIGINT; the end of its log:\n%s",
          tail(read_log(), 25)));
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  pid_ = -1;
  return read_log();
}

Testpmd::~Testpmd() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  if (!socket_.empty()) unlink(socket_.c_str());
  if (log_.rfind(dir_, 0) == 0) unlink(log_.c_str());
  if (!dir_.empty()) rmdir(dir_.c_str());
  // DPDK's runtime directory (empty with --no-shconf), as root or not.
  const char* runtime = std::getenv("XDG_RUNTIME_DIR");
  for (const char* base : {"/var/run", runtime}) {
    if (base != nullptr && !prefix_.empty()) {
      rmdir(absl::StrFormat("%s/%s", base, prefix_).c_str());
      rmdir(absl::StrFormat("%s/dpdk/%s", base, prefix_).c_str());
    }
  }
}

absl::StatusOr<ForwardStats> Testpmd::accumulated(const std::string& log) {
  const size_t at = log.find("Accumulated forward statistics");
  if (at == std::string::npos) {
    return absl::NotFoundError(absl::StrFormat(
        "no 'Accumulated forward statistics' in testpmd's log; its end:\n%s", tail(log, 25)));
  }
  ForwardStats s;
  const char* p = log.c_str() + at;
  const char* rx = std::strstr(p, "RX-packets:");
  const char* tx = std::strstr(p, "TX-packets:");
  unsigned long long a = 0, b = 0;
  if (rx == nullptr || tx == nullptr ||
      std::sscanf(rx, "RX-packets: %llu RX-dropped: %llu", &a, &b) != 2) {
    return absl::DataLossError("cannot parse testpmd's accumulated RX statistics");
  }
  s.rx_packets = a, s.rx_dropped = b;
  if (std::sscanf(tx, "TX-packets: %llu TX-dropped: %llu", &a, &b) != 2) {
    return absl::DataLossError("cannot parse testpmd's accumulated TX statistics");
  }
  s.tx_packets = a, s.tx_dropped = b;
  return s;
}

}  // namespace safenic::testing
