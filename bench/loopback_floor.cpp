// The floor under any WebSocket fan-out on this machine: the time the kernel
// alone takes to push one small message to N loopback TCP sockets, with a
// reader draining them (as the load generator does). No framing, no server:
// N connected socket pairs, one `send` of a 200-byte message on each, split
// over T sender threads, then wait until the reader has received every one.
//
//   youmeyou_loopback_floor [--sockets 10000] [--threads 2] [--rounds 15]

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

namespace {
using Clock = std::chrono::steady_clock;

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}
}  // namespace

int main(int argc, char** argv) {
  std::size_t sockets = 10000, threads = 2, rounds = 15;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--sockets") sockets = std::stoul(argv[i + 1]);
    if (flag == "--threads") threads = std::stoul(argv[i + 1]);
    if (flag == "--rounds") rounds = std::stoul(argv[i + 1]);
  }
  int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 || ::listen(listener, 4096) != 0 ||
      ::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    std::perror("listen");
    return 1;
  }
  std::vector<int> senders, receivers;
  int epoll = ::epoll_create1(0);
  int one = 1;
  for (std::size_t i = 0; i < sockets; ++i) {
    int c = ::socket(AF_INET, SOCK_STREAM, 0);
    if (c < 0 || ::connect(c, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
      std::perror("connect");
      return 1;
    }
    int s = ::accept(listener, nullptr, nullptr);
    if (s < 0) {
      std::perror("accept");
      return 1;
    }
    ::setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    senders.push_back(s);
    receivers.push_back(c);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = c;
    ::epoll_ctl(epoll, EPOLL_CTL_ADD, c, &ev);
  }
  const std::string message(200, 'x');
  std::vector<double> sendMs, allReceivedMs;
  for (std::size_t round = 0; round < rounds; ++round) {
    std::atomic<std::size_t> received{0};
    Clock::time_point lastReceived;
    std::thread reader([&] {
      std::vector<epoll_event> ready(1024);
      char buffer[4096];
      while (received < sockets) {
        int n = ::epoll_wait(epoll, ready.data(), static_cast<int>(ready.size()), 10'000);
        if (n <= 0) break;
        for (int k = 0; k < n; ++k) {
          if (::recv(ready[static_cast<std::size_t>(k)].data.fd, buffer, sizeof buffer, 0) > 0) ++received;
        }
      }
      lastReceived = Clock::now();
    });
    const auto start = Clock::now();
    std::vector<std::thread> workers;
    for (std::size_t t = 0; t < threads; ++t) {
      workers.emplace_back([&, t] {
        for (std::size_t i = t; i < sockets; i += threads) ::send(senders[i], message.data(), message.size(), MSG_NOSIGNAL);
      });
    }
    for (auto& w : workers) w.join();
    const auto sent = Clock::now();
    reader.join();
    sendMs.push_back(std::chrono::duration<double, std::milli>(sent - start).count());
    allReceivedMs.push_back(std::chrono::duration<double, std::milli>(lastReceived - start).count());
  }
  std::printf("{\"sockets\":%zu,\"sender_threads\":%zu,\"rounds\":%zu,\"send_all_ms_median\":%.1f,"
              "\"all_received_ms_median\":%.1f,\"us_per_send\":%.2f}\n",
              sockets, threads, rounds, median(sendMs), median(allReceivedMs),
              median(sendMs) * 1000.0 * static_cast<double>(threads) / static_cast<double>(sockets));
  return 0;
}
