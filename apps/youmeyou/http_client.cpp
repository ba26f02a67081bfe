#include "http_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace ymy::app {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = boost::asio::ip::tcp;

Result<HttpReply> httpRequest(const std::string& method, const std::string& url, const std::string& target,
                              const std::string& bearer, std::chrono::milliseconds timeout) {
  constexpr std::string_view kScheme = "http://";
  if (url.rfind(kScheme, 0) != 0) {
    return fail(ErrorCode::kInvalidArgument, "url '" + url + "' must start with http://");
  }
  std::string authority = url.substr(kScheme.size());
  if (auto slash = authority.find('/'); slash != std::string::npos) authority.resize(slash);
  std::string host = authority, port = "80";
  if (auto colon = authority.rfind(':'); colon != std::string::npos && authority.find(']', colon) == std::string::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (!host.empty() && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host.empty() || port.empty()) return fail(ErrorCode::kInvalidArgument, "url '" + url + "' has no host or port");

  const auto verb = http::string_to_verb(method);
  if (verb == http::verb::unknown) return fail(ErrorCode::kInvalidArgument, "unknown HTTP method " + method);
  try {
    boost::asio::io_context ioc;
    tcp::resolver resolver(ioc);
    beast::tcp_stream stream(ioc);
    stream.expires_after(timeout);
    stream.connect(resolver.resolve(host, port));
    http::request<http::empty_body> req{verb, target, 11};
    req.set(http::field::host, authority);
    req.set(http::field::user_agent, "youmeyou-cli");
    if (!bearer.empty()) req.set(http::field::authorization, "Bearer " + bearer);
    http::write(stream, req);
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(16u << 20);
    http::read(stream, buffer, parser);
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    return HttpReply{static_cast<int>(parser.get().result_int()), std::move(parser.get().body())};
  } catch (const std::exception& e) {
    return fail(ErrorCode::kIo, "cannot reach " + url + ": " + e.what());
  }
}

}  // namespace ymy::app
