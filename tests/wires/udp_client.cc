// A UDP round trip through the kernel's socket API, for the echo test:
//   udp_client IP PORT
// sends datagrams of several sizes (binary content, zeros included) and
// checks that each comes back unchanged from IP:PORT. Each waits 1 s, three
// tries at most; the first that does not come back ends the run. Exits 0
// only if every one came back intact.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: udp_client IP PORT\n");
    return 2;
  }
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<uint16_t>(std::atoi(argv[2])));
  if (inet_pton(AF_INET, argv[1], &to.sin_addr) != 1) {
    std::fprintf(stderr, "udp_client: '%s' is not an IPv4 address\n", argv[1]);
    return 2;
  }
  const int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  // connect(): the kernel then takes replies only from IP:PORT.
  if (s < 0 || connect(s, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) {
    std::fprintf(stderr, "udp_client: socket/connect: %s\n", std::strerror(errno));
    return 1;
  }
  int failed = 0;
  for (size_t size : {1, 18, 100, 1000, 1472}) {  // 1472: a full 1500-byte MTU
    std::vector<uint8_t> payload(size), back(2048);
    for (size_t i = 0; i < size; ++i) payload[i] = static_cast<uint8_t>(i * 31 + size);
    ssize_t got = -1;
    for (int attempt = 0; attempt < 3 && got < 0; ++attempt) {
      if (send(s, payload.data(), size, 0) != static_cast<ssize_t>(size)) {
        std::fprintf(stderr, "udp_client: send: %s\n", std::strerror(errno));
        continue;
      }
      pollfd p{s, POLLIN, 0};
      if (poll(&p, 1, 1000) == 1) got = recv(s, back.data(), back.size(), 0);
    }
    if (got == static_cast<ssize_t>(size) && std::memcmp(back.data(), payload.data(), size) == 0) {
      std::printf("udp_client: %zu bytes came back unchanged\n", size);
    } else {
      std::printf("udp_client: %zu bytes: %s\n", size,
                  got < 0 ? "no answer" : "the answer differs");
      ++failed;
      break;  // the rest would wait in vain too
    }
  }
  close(s);
  return failed == 0 ? 0 : 1;
}
