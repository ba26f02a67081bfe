#pragma once
// A small blocking HTTP/1.1 client for commands that talk to a running
// `youmeyou serve` (`youmeyou cache stats|clear`). Beast stays in its .cpp.

#include <chrono>
#include <string>

#include "model/error.hpp"

namespace ymy::app {

struct HttpReply {
  int status = 0;
  std::string body;
};

// `url` is http://host[:port] (no TLS: the service is reached on a trusted
// network or through its proxy). kInvalidArgument for a bad URL, kIo when
// the server cannot be reached or answers nonsense within `timeout`.
// `bearer`: a token for the Authorization header (none when empty).
Result<HttpReply> httpRequest(const std::string& method, const std::string& url, const std::string& target,
                              const std::string& bearer = "",
                              std::chrono::milliseconds timeout = std::chrono::seconds(10));

}  // namespace ymy::app
