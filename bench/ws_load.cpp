// WebSocket load generator: N clients connect to /stream, subscribe to one
// execution, and time every live event from its publish timestamp (the
// event's "ts", epoch ms) to its arrival. Live means published after the last
// client sent its subscription: events published while clients were still
// connecting reach them as replay, which is not fan-out latency.
//
// It shares the machine's cores with the server, so it is written to cost as
// little as possible per message: one thread, plain sockets and epoll, one
// read per ready socket, and the server's unmasked frames parsed in place.
// It reports its own CPU time, so a reader can tell whether it, rather than
// the server, was the limit.
//
//   youmeyou_wsload --port P --execution EXEC --clients 10000 --live-after SEQ

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

namespace {

std::int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A number after `key` in a JSON text, without parsing the whole message.
std::int64_t field(std::string_view text, std::string_view key) {
  auto at = text.find(key);
  if (at == std::string_view::npos) return -1;
  std::int64_t v = 0;
  for (std::size_t i = at + key.size(); i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) v = v * 10 + (text[i] - '0');
  return v;
}

// A client frame: FIN, masked (with a zero key: the mask is required, its
// value is not), payload under 64 KB.
std::string clientFrame(std::uint8_t opcode, std::string_view payload) {
  std::string f;
  f.push_back(static_cast<char>(0x80 | opcode));
  if (payload.size() < 126) {
    f.push_back(static_cast<char>(0x80 | payload.size()));
  } else {
    f.push_back(static_cast<char>(0x80 | 126));
    f.push_back(static_cast<char>(payload.size() >> 8));
    f.push_back(static_cast<char>(payload.size() & 0xFF));
  }
  f.append(4, '\0');
  f.append(payload);
  return f;
}

bool writeAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

struct Client {
  int fd = -1;
  std::string partial;  // an incomplete frame from the last read
  bool done = false;
};

struct Run {
  std::uint64_t liveAfter = 0;
  std::int64_t allSubscribedMs = 0;
  std::vector<double> latenciesMs;
  std::size_t replayed = 0, finished = 0, failed = 0;
};

// Handles every complete frame in `data`; returns the bytes used.
std::size_t consume(Client& c, std::string_view data, Run& run) {
  std::size_t used = 0;
  while (data.size() - used >= 2) {
    const auto* p = reinterpret_cast<const unsigned char*>(data.data() + used);
    const std::uint8_t opcode = p[0] & 0x0F;
    std::uint64_t length = p[1] & 0x7F;
    std::size_t header = 2;
    if (length == 126) {
      if (data.size() - used < 4) break;
      length = (std::uint64_t{p[2]} << 8) | p[3];
      header = 4;
    } else if (length == 127) {
      if (data.size() - used < 10) break;
      length = 0;
      for (int k = 0; k < 8; ++k) length = (length << 8) | p[2 + k];
      header = 10;
    }
    if (data.size() - used < header + length) break;
    std::string_view payload = data.substr(used + header, length);
    used += header + length;
    if (opcode == 9) {
      writeAll(c.fd, clientFrame(10, payload));
    } else if (opcode == 8) {
      c.done = true;
      ++run.failed;  // the server closed before the run ended
      return used;
    } else if (opcode == 1) {
      const auto received = nowMs();
      if (field(payload, "\"seq\":") > static_cast<std::int64_t>(run.liveAfter)) {
        const auto ts = field(payload, "\"ts\":");
        if (run.allSubscribedMs && ts > run.allSubscribedMs) {
          run.latenciesMs.push_back(static_cast<double>(received - ts));
        } else {
          ++run.replayed;
        }
      }
      if (payload.find("\"executionSummary\"") != std::string_view::npos) {
        c.done = true;
        ++run.finished;
        return used;
      }
    }
  }
  return used;
}

// Connects and upgrades; false on any failure.
bool open(Client& c, const sockaddr_in& address, const std::string& upgrade) {
  c.fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (c.fd < 0 || ::connect(c.fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) return false;
  int one = 1;
  ::setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return writeAll(c.fd, upgrade);
}

// Reads the 101 response (and any frames after it) on a blocking socket.
bool awaitUpgrade(Client& c) {
  char buffer[4096];
  std::string got;
  while (got.find("\r\n\r\n") == std::string::npos) {
    ssize_t n = ::recv(c.fd, buffer, sizeof buffer, 0);
    if (n <= 0) return false;
    got.append(buffer, static_cast<std::size_t>(n));
  }
  if (got.rfind("HTTP/1.1 101", 0) != 0) return false;
  c.partial = got.substr(got.find("\r\n\r\n") + 4);
  return true;
}

double percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[static_cast<std::size_t>(p * static_cast<double>(v.size() - 1))];
}

}  // namespace

int main(int argc, char** argv) {
  unsigned short port = 0;
  std::string execution;
  std::size_t clients = 10000;
  Run run;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--port") port = static_cast<unsigned short>(std::stoi(argv[i + 1]));
    if (flag == "--execution") execution = argv[i + 1];
    if (flag == "--clients") clients = std::stoul(argv[i + 1]);
    if (flag == "--live-after") run.liveAfter = std::stoull(argv[i + 1]);
  }
  if (!port || execution.empty()) {
    std::cerr << "usage: youmeyou_wsload --port P --execution EXEC [--clients N] [--live-after SEQ]\n";
    return 2;
  }
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const std::string upgrade =
      "GET /stream?clientId=load HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
  const std::string subscribe = clientFrame(
      1, "{\"type\":\"subscribe\",\"executionId\":\"" + execution + "\",\"after\":" + std::to_string(run.liveAfter) + "}");

  // Connect in waves: send a wave's upgrade requests, then read their answers.
  const auto started = std::chrono::steady_clock::now();
  std::vector<Client> all(clients);
  constexpr std::size_t kWave = 256;
  for (std::size_t first = 0; first < clients; first += kWave) {
    const std::size_t last = std::min(clients, first + kWave);
    for (std::size_t i = first; i < last; ++i) {
      if (!open(all[i], address, upgrade)) ++run.failed;
    }
    for (std::size_t i = first; i < last; ++i) {
      if (all[i].fd >= 0 && !awaitUpgrade(all[i])) ++run.failed;
    }
  }
  const auto connected = std::chrono::steady_clock::now();
  if (run.failed) {
    std::cerr << run.failed << " clients failed to connect\n";
    return 1;
  }
  int epoll = ::epoll_create1(0);
  for (std::size_t i = 0; i < clients; ++i) {
    if (!writeAll(all[i].fd, subscribe)) ++run.failed;
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = i;
    ::epoll_ctl(epoll, EPOLL_CTL_ADD, all[i].fd, &ev);
  }
  run.allSubscribedMs = nowMs();

  std::vector<epoll_event> ready(1024);
  std::vector<char> buffer(256 * 1024);
  std::size_t open = clients;
  while (open > 0) {
    int n = ::epoll_wait(epoll, ready.data(), static_cast<int>(ready.size()), 60'000);
    if (n <= 0) {
      std::cerr << "no event for 60 s; " << open << " clients still open\n";
      break;
    }
    for (int k = 0; k < n; ++k) {
      Client& c = all[ready[static_cast<std::size_t>(k)].data.u64];
      ssize_t got = ::recv(c.fd, buffer.data(), buffer.size(), 0);
      if (got <= 0) {
        if (got < 0 && errno == EINTR) continue;
        ++run.failed;
        c.done = true;
      } else if (c.partial.empty()) {
        std::string_view data(buffer.data(), static_cast<std::size_t>(got));
        std::size_t used = consume(c, data, run);
        if (!c.done) c.partial.assign(data.substr(used));
      } else {
        c.partial.append(buffer.data(), static_cast<std::size_t>(got));
        c.partial.erase(0, consume(c, c.partial, run));
      }
      if (c.done) {
        ::epoll_ctl(epoll, EPOLL_CTL_DEL, c.fd, nullptr);
        ::close(c.fd);
        --open;
      }
    }
  }
  const auto ended = std::chrono::steady_clock::now();
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  const double cpu = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
                     static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
  const double wall = std::chrono::duration<double>(ended - started).count();
  const std::size_t samples = run.latenciesMs.size();
  const double p50 = percentile(run.latenciesMs, 0.5), p99 = percentile(run.latenciesMs, 0.99),
               max = percentile(run.latenciesMs, 1.0);
  std::printf(
      "{\"clients\":%zu,\"finished\":%zu,\"failed\":%zu,\"live_deliveries\":%zu,\"replayed\":%zu,\"p50_ms\":%.1f,"
      "\"p99_ms\":%.1f,\"max_ms\":%.1f,\"connect_all_s\":%.2f,\"generator_cpu_s\":%.2f,\"wall_s\":%.2f}\n",
      clients, run.finished, run.failed, samples, run.replayed, p50, p99, max,
      std::chrono::duration<double>(connected - started).count(), cpu, wall);
  return run.failed == 0 && run.finished == clients ? 0 : 1;
}
