// WebSocket load generator: N clients connect to /stream, subscribe to one
// execution, and time every live event from its publish timestamp (the
// event's "ts", epoch ms) to its arrival. One thread, asynchronous, so it
// can hold tens of thousands of connections; it reports its own CPU use so a
// reader can tell whether it, rather than the server, was the limit.
//
//   youmeyou_wsload --port P --execution EXEC --clients 10000 --live-after SEQ

#include <sys/resource.h>

#include <algorithm>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;

namespace {

struct Shared {
  std::string execution;
  std::uint64_t liveAfter = 0;
  std::vector<double> latenciesMs;
  std::size_t connected = 0, subscribed = 0, finished = 0, failed = 0;
  std::size_t clients = 0;
  std::chrono::steady_clock::time_point allConnected;
};

std::int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A number after `"key":` in a JSON text, without parsing the whole message.
std::int64_t field(const std::string& text, const char* key) {
  auto at = text.find(key);
  if (at == std::string::npos) return -1;
  return std::strtoll(text.c_str() + at + std::strlen(key), nullptr, 10);
}

class Client : public std::enable_shared_from_this<Client> {
 public:
  Client(net::io_context& ioc, Shared& shared) : ws_(ioc), shared_(shared) {}

  void start(const tcp::endpoint& endpoint) {
    ws_.next_layer().async_connect(endpoint, [self = shared_from_this()](beast::error_code ec) {
      if (ec) return self->fail();
      self->ws_.async_handshake("127.0.0.1", "/stream?clientId=load", [self](beast::error_code ec) {
        if (ec) return self->fail();
        ++self->shared_.connected;
        if (self->shared_.connected == self->shared_.clients) self->shared_.allConnected = std::chrono::steady_clock::now();
        self->subscribe();
      });
    });
  }

 private:
  void subscribe() {
    message_ = "{\"type\":\"subscribe\",\"executionId\":\"" + shared_.execution + "\",\"after\":" +
               std::to_string(shared_.liveAfter) + "}";
    ws_.async_write(net::buffer(message_), [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) return self->fail();
      ++self->shared_.subscribed;
      self->read();
    });
  }

  void read() {
    ws_.async_read(buffer_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) return self->fail();
      std::string text = beast::buffers_to_string(self->buffer_.data());
      self->buffer_.consume(self->buffer_.size());
      const auto received = nowMs();
      auto seq = field(text, "\"seq\":");
      if (seq > static_cast<std::int64_t>(self->shared_.liveAfter)) {
        auto ts = field(text, "\"ts\":");
        if (ts > 0) self->shared_.latenciesMs.push_back(static_cast<double>(received - ts));
      }
      if (text.find("\"executionSummary\"") != std::string::npos) {
        ++self->shared_.finished;
        beast::error_code ignored;
        self->ws_.next_layer().close(ignored);
        return;
      }
      self->read();
    });
  }

  void fail() { ++shared_.failed; }

  websocket::stream<tcp::socket> ws_;
  beast::flat_buffer buffer_;
  std::string message_;
  Shared& shared_;
};

double percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[static_cast<std::size_t>(p * static_cast<double>(v.size() - 1))];
}

}  // namespace

int main(int argc, char** argv) {
  unsigned short port = 0;
  Shared shared;
  shared.clients = 10000;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--port") port = static_cast<unsigned short>(std::stoi(argv[i + 1]));
    if (flag == "--execution") shared.execution = argv[i + 1];
    if (flag == "--clients") shared.clients = std::stoul(argv[i + 1]);
    if (flag == "--live-after") shared.liveAfter = std::stoull(argv[i + 1]);
  }
  if (!port || shared.execution.empty()) {
    std::cerr << "usage: youmeyou_wsload --port P --execution EXEC [--clients N] [--live-after SEQ]\n";
    return 2;
  }
  net::io_context ioc;
  tcp::endpoint endpoint(net::ip::make_address("127.0.0.1"), port);
  const auto started = std::chrono::steady_clock::now();
  for (std::size_t i = 0; i < shared.clients; ++i) std::make_shared<Client>(ioc, shared)->start(endpoint);
  ioc.run();
  const auto ended = std::chrono::steady_clock::now();
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  double cpu = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
               static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
  double wall = std::chrono::duration<double>(ended - started).count();
  std::size_t samples = shared.latenciesMs.size();
  double p50 = percentile(shared.latenciesMs, 0.5), p99 = percentile(shared.latenciesMs, 0.99);
  double connectSeconds = shared.connected == shared.clients
                              ? std::chrono::duration<double>(shared.allConnected - started).count()
                              : -1;
  std::printf(
      "{\"clients\":%zu,\"connected\":%zu,\"subscribed\":%zu,\"finished\":%zu,\"failed\":%zu,\"deliveries\":%zu,"
      "\"p50_ms\":%.1f,\"p99_ms\":%.1f,\"connect_all_s\":%.2f,\"generator_cpu_s\":%.2f,\"wall_s\":%.2f}\n",
      shared.clients, shared.connected, shared.subscribed, shared.finished, shared.failed, samples, p50, p99,
      connectSeconds, cpu, wall);
  return shared.failed == 0 && shared.finished == shared.clients ? 0 : 1;
}
