#pragma once
// A small HTTP/1.1 server for the llm tests: 127.0.0.1 on a free port, one
// thread per connection, one request per connection (Connection: close).
// It answers from a queue of scripted responses, each sent as Content-Length
// or chunked with chunks the test controls, optionally cut mid-stream or held
// open until release(), and records every request it reads.

#include <atomic>
#include <condition_variable>
#include <memory>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace ymy::llm::testing {

struct ScriptedResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  // Sent one by one as chunks (chunked encoding) when `chunked`, else joined
  // with a Content-Length.
  std::vector<std::string> chunks;
  bool chunked = false;
  // After the chunks: close the socket without the final chunk (a cut stream).
  bool cut = false;
  // After the chunks: wait for release() (or the server's end), then cut.
  bool hold = false;

  static ScriptedResponse json(int status, std::string body);
  // An SSE stream: the text split into events (each ending in a blank line),
  // one chunk per event.
  static ScriptedResponse sse(const std::string& text);
};

struct RecordedRequest {
  std::string method;
  std::string target;
  std::map<std::string, std::string> headers;  // names lowercased
  std::string body;
  std::string raw;  // everything read, head and body
};

class FakeHttpServer {
 public:
  FakeHttpServer();
  ~FakeHttpServer();
  FakeHttpServer(const FakeHttpServer&) = delete;
  FakeHttpServer& operator=(const FakeHttpServer&) = delete;

  std::uint16_t port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  void enqueue(ScriptedResponse response);
  // Served when the queue is empty (instead of a 500): for benchmarks.
  void setDefault(ScriptedResponse response);
  std::vector<RecordedRequest> requests() const;
  // Lets held responses finish (they are cut).
  void release();
  // Blocks until `n` requests have been read.
  void waitForRequests(std::size_t n) const;

 private:
  void acceptLoop();
  void serve(int fd);

  int listenFd_ = -1;
  std::uint16_t port_ = 0;
  std::thread acceptor_;
  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  std::deque<ScriptedResponse> queue_;       // guarded by mutex_
  std::optional<ScriptedResponse> default_;  // guarded by mutex_
  std::vector<RecordedRequest> requests_;    // guarded by mutex_
  struct Connection {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };
  std::vector<Connection> connections_;      // guarded by mutex_; finished ones joined on the next accept
  std::vector<int> openFds_;                 // guarded by mutex_
  bool released_ = false;                    // guarded by mutex_
  bool stopping_ = false;                    // guarded by mutex_
};

// A fixture file's text (tests/llm/fixtures/<relative>).
std::string fixture(const std::string& relative);

}  // namespace ymy::llm::testing
