#pragma once
// HTTP POST for the providers, behind an interface so tests can swap it.
// CurlTransport is the real one (Debian's libcurl, OpenSSL); the tests also
// run it against a local server. Nothing here logs: request headers carry the
// API key, so they are never written anywhere but to the socket.

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "model/cancellation.hpp"
#include "model/error.hpp"

namespace ymy::llm {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string url;
  Headers headers;  // sent as given; Content-Type is the caller's
  std::string body;
  // The whole transfer, connection included. Zero: none.
  std::chrono::milliseconds timeout{60'000};
  const CancellationToken* cancel = nullptr;  // not owned; may be null
};

struct HttpResponse {
  int status = 0;
  Headers headers;   // names lowercased, in arrival order
  std::string body;  // for streamed 2xx answers: empty (the chunks went to the callback)

  // The first header of that name (case-insensitive), if any.
  std::optional<std::string> header(std::string_view name) const;
};

// Thread-safe: post() and postStreaming() may run on several threads at once.
// Errors: kIo for connection failures, timeouts ("timed out" in the message)
// and cut transfers; kConflict when the token was cancelled, returned within
// a few tens of milliseconds of cancel(); kInvalidArgument for a bad URL.
// An HTTP error status is not an error here: the caller reads response.status.
class HttpTransport {
 public:
  virtual ~HttpTransport() = default;
  virtual Result<HttpResponse> post(const HttpRequest& request) = 0;
  // Like post(), but a 2xx body goes to `onChunk` as it arrives (any split);
  // other statuses' bodies are collected in the response. `onChunk` returning
  // false aborts the transfer (the result is then kConflict if the token was
  // cancelled, else kIo "aborted").
  virtual Result<HttpResponse> postStreaming(const HttpRequest& request,
                                             const std::function<bool(std::string_view)>& onChunk) = 0;
};

class CurlTransport final : public HttpTransport {
 public:
  struct Options {
    std::chrono::milliseconds connectTimeout{10'000};
    // How often a waiting transfer re-checks its cancellation token.
    std::chrono::milliseconds cancelPoll{20};
    std::size_t maxBodyBytes = 32u << 20;  // non-streamed bodies and error bodies
  };
  CurlTransport();
  explicit CurlTransport(Options options);
  ~CurlTransport() override;

  Result<HttpResponse> post(const HttpRequest& request) override;
  Result<HttpResponse> postStreaming(const HttpRequest& request,
                                     const std::function<bool(std::string_view)>& onChunk) override;

 private:
  Result<HttpResponse> perform(const HttpRequest& request, const std::function<bool(std::string_view)>* onChunk);
  const Options options_;
};

}  // namespace ymy::llm
