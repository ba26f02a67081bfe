#include "llm/fake_http_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <iterator>
#include <sstream>
#include <stdexcept>

namespace ymy::llm::testing {
namespace {

bool sendAll(int fd, const std::string& data) {
  std::size_t sent = 0;
  while (sent < data.size()) {
    const ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return false;
    sent += static_cast<std::size_t>(n);
  }
  return true;
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

const char* reason(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 404: return "Not Found";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Status";
  }
}

}  // namespace

ScriptedResponse ScriptedResponse::json(int status, std::string body) {
  ScriptedResponse r;
  r.status = status;
  r.headers.emplace_back("Content-Type", "application/json");
  r.chunks.push_back(std::move(body));
  return r;
}

ScriptedResponse ScriptedResponse::sse(const std::string& text) {
  ScriptedResponse r;
  r.headers.emplace_back("Content-Type", "text/event-stream");
  r.chunked = true;
  std::size_t at = 0;
  while (at < text.size()) {
    const auto end = text.find("\n\n", at);
    const std::size_t stop = end == std::string::npos ? text.size() : end + 2;
    r.chunks.push_back(text.substr(at, stop - at));
    at = stop;
  }
  return r;
}

FakeHttpServer::FakeHttpServer() {
  listenFd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listenFd_ < 0) throw std::runtime_error("socket failed");
  int one = 1;
  ::setsockopt(listenFd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (::bind(listenFd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(listenFd_, 64) != 0)
    throw std::runtime_error("bind/listen failed");
  socklen_t len = sizeof addr;
  ::getsockname(listenFd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  acceptor_ = std::thread([this] { acceptLoop(); });
}

FakeHttpServer::~FakeHttpServer() {
  std::vector<Connection> threads;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    for (int fd : openFds_) ::shutdown(fd, SHUT_RDWR);
  }
  changed_.notify_all();
  ::shutdown(listenFd_, SHUT_RDWR);
  acceptor_.join();
  {
    std::lock_guard lock(mutex_);
    threads.swap(connections_);
  }
  for (auto& c : threads) c.thread.join();
  ::close(listenFd_);
}

void FakeHttpServer::enqueue(ScriptedResponse response) {
  std::lock_guard lock(mutex_);
  queue_.push_back(std::move(response));
}

void FakeHttpServer::setDefault(ScriptedResponse response) {
  std::lock_guard lock(mutex_);
  default_ = std::move(response);
}

std::vector<RecordedRequest> FakeHttpServer::requests() const {
  std::lock_guard lock(mutex_);
  return requests_;
}

void FakeHttpServer::release() {
  {
    std::lock_guard lock(mutex_);
    released_ = true;
  }
  changed_.notify_all();
}

void FakeHttpServer::waitForRequests(std::size_t n) const {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return requests_.size() >= n; });
}

void FakeHttpServer::acceptLoop() {
  for (;;) {
    pollfd p{listenFd_, POLLIN, 0};
    const int ready = ::poll(&p, 1, 50);
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
    }
    if (ready <= 0) continue;
    const int fd = ::accept4(listenFd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    std::vector<Connection> finished;
    {
      std::lock_guard lock(mutex_);
      auto done = std::partition(connections_.begin(), connections_.end(), [](const Connection& c) { return !*c.done; });
      std::move(done, connections_.end(), std::back_inserter(finished));
      connections_.erase(done, connections_.end());
      openFds_.push_back(fd);
      auto flag = std::make_shared<std::atomic<bool>>(false);
      connections_.push_back(Connection{std::thread([this, fd, flag] {
                                          serve(fd);
                                          *flag = true;
                                        }),
                                        flag});
    }
    for (auto& c : finished) c.thread.join();
  }
}

void FakeHttpServer::serve(int fd) {
  RecordedRequest request;
  std::string data;
  char buffer[8192];
  std::size_t headEnd = std::string::npos;
  std::size_t contentLength = 0;
  for (;;) {
    if (headEnd == std::string::npos) {
      headEnd = data.find("\r\n\r\n");
      if (headEnd != std::string::npos) {
        std::istringstream head(data.substr(0, headEnd));
        std::string line;
        std::getline(head, line);
        std::istringstream first(line);
        first >> request.method >> request.target;
        while (std::getline(head, line)) {
          if (!line.empty() && line.back() == '\r') line.pop_back();
          const auto colon = line.find(':');
          if (colon == std::string::npos) continue;
          std::string value = line.substr(colon + 1);
          value.erase(0, value.find_first_not_of(' '));
          request.headers[lower(line.substr(0, colon))] = value;
        }
        if (auto it = request.headers.find("content-length"); it != request.headers.end())
          contentLength = std::stoul(it->second);
      }
    }
    if (headEnd != std::string::npos && data.size() >= headEnd + 4 + contentLength) break;
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) break;
    data.append(buffer, static_cast<std::size_t>(n));
  }
  ScriptedResponse response;
  {
    std::lock_guard lock(mutex_);
    if (headEnd != std::string::npos) {
      request.body = data.substr(headEnd + 4, contentLength);
      request.raw = data;
      if (!default_) requests_.push_back(request);  // a benchmark's server keeps no record
      if (queue_.empty() && default_) {
        response = *default_;
      } else if (queue_.empty()) {
        response = ScriptedResponse::json(500, R"({"error":{"message":"no scripted response left"}})");
      } else {
        response = std::move(queue_.front());
        queue_.pop_front();
      }
    } else {
      response.status = 0;
    }
  }
  changed_.notify_all();

  if (response.status != 0) {
    std::string head = "HTTP/1.1 " + std::to_string(response.status) + " " + reason(response.status) + "\r\n";
    for (const auto& [k, v] : response.headers) head += k + ": " + v + "\r\n";
    head += "Connection: close\r\n";
    std::string body;
    for (const auto& c : response.chunks) body += c;
    if (response.chunked) {
      head += "Transfer-Encoding: chunked\r\n\r\n";
      bool ok = sendAll(fd, head);
      for (const auto& c : response.chunks) {
        if (!ok) break;
        std::ostringstream size;
        size << std::hex << c.size();
        ok = sendAll(fd, size.str() + "\r\n" + c + "\r\n");
      }
      if (ok && response.hold) {
        std::unique_lock lock(mutex_);
        changed_.wait(lock, [&] { return released_ || stopping_; });
      } else if (ok && !response.cut) {
        sendAll(fd, "0\r\n\r\n");
      }
    } else {
      if (response.cut) {
        head += "Content-Length: " + std::to_string(body.size() + 100) + "\r\n\r\n";
      } else {
        head += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
      }
      if (sendAll(fd, head + body) && response.hold) {
        std::unique_lock lock(mutex_);
        changed_.wait(lock, [&] { return released_ || stopping_; });
      }
    }
  }
  ::shutdown(fd, SHUT_RDWR);
  std::lock_guard lock(mutex_);
  openFds_.erase(std::find(openFds_.begin(), openFds_.end(), fd));
  ::close(fd);
}

std::string fixture(const std::string& relative) {
  const std::string path = std::string(YOUMEYOU_LLM_FIXTURES) + "/" + relative;
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("missing fixture " + path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace ymy::llm::testing
