// The only translation unit with Boost.Beast (websocket.cpp has Asio only).
// The server runs one single-threaded io_context per thread (a shard); each
// accepted connection stays on one shard, so its state needs no strand. HTTP
// connections are coroutines that own their stream. SSE and long poll get a
// bounded queue that the bus fills (under its lock, so the queue only posts a
// wake-up); WebSocket connections are handed, after Beast's upgrade, to their
// shard's ws::Shard, which fans events out as shared frames.

#include "server/server.hpp"

#include <filesystem>
#include <fstream>

#include <algorithm>
#include <array>
#include <atomic>
#include <iomanip>
#include <deque>
#include <map>
#include <optional>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include <boost/asio.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json/serialize.hpp>

#include "auth/auth_service.hpp"
#include "auth/rate_limiter.hpp"
#include "auth/redis_limiter.hpp"
#include "auth/tiers.hpp"
#include "bus/event_bus.hpp"
#include "codegen/codegen.hpp"
#include "codegen/export_formats.hpp"
#include "model/json_io.hpp"
#include "server/execution_manager.hpp"
#include "server/websocket.hpp"
#include "server/ws_frame.hpp"

namespace ymy::server {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;
using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;
constexpr auto nothrow = net::as_tuple(net::use_awaitable);

namespace {

// ---- Metrics ------------------------------------------------------------------

// Request durations as a Prometheus histogram, without locks.
class LatencyHistogram {
 public:
  static constexpr std::array<double, 14> kBounds{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                                  0.025,  0.05,    0.1,    0.25,  0.5,    1,     2.5};
  void observe(std::chrono::steady_clock::duration d) {
    const double seconds = std::chrono::duration<double>(d).count();
    std::size_t i = 0;
    while (i < kBounds.size() && seconds > kBounds[i]) ++i;
    buckets_[i].fetch_add(1, std::memory_order_relaxed);
    sumMicros_.fetch_add(static_cast<std::uint64_t>(seconds * 1e6), std::memory_order_relaxed);
  }
  void write(std::ostream& out, std::string_view name, std::string_view label) const {
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i <= kBounds.size(); ++i) {
      cumulative += buckets_[i].load(std::memory_order_relaxed);
      out << name << "_bucket{" << label << ",le=\"";
      if (i < kBounds.size()) {
        out << kBounds[i];
      } else {
        out << "+Inf";
      }
      out << "\"} " << cumulative << "\n";
    }
    out << name << "_sum{" << label << "} " << static_cast<double>(sumMicros_.load()) / 1e6 << "\n"
        << name << "_count{" << label << "} " << cumulative << "\n";
  }

 private:
  std::array<std::atomic<std::uint64_t>, kBounds.size() + 1> buckets_{};  // the last is +Inf
  std::atomic<std::uint64_t> sumMicros_{0};
};

// What /metrics labels a request with: the route, never the ids in it.
constexpr std::array<const char*, 15> kRoutes{"healthz", "metrics",   "projects",      "project",     "canvas",
                                              "export",  "design",    "execution",     "cancel",      "files",
                                              "events",  "modifications", "cache-report", "cache",  "other"};

std::size_t routeIndex(const std::vector<std::string>& s) {
  auto at = [&](std::size_t i, std::string_view v) { return s.size() > i && s[i] == v; };
  auto route = [](std::string_view name) {
    return static_cast<std::size_t>(std::find(kRoutes.begin(), kRoutes.end(), name) - kRoutes.begin());
  };
  if (s.size() == 1 && (s[0] == "healthz" || s[0] == "metrics")) return route(s[0]);
  if (!at(0, "api")) return route("other");
  if (at(1, "cache") && s.size() == 2) return route("cache");
  if (at(1, "design") && s.size() == 2) return route("design");
  if (at(1, "projects")) {
    if (s.size() == 2) return route("projects");
    if (s.size() == 3) return route("project");
    if (s.size() == 4 && (s[3] == "canvas" || s[3] == "export")) return route(s[3]);
  }
  if (at(1, "executions")) {
    if (s.size() == 3) return route("execution");
    if (s.size() >= 4 && (s[3] == "cancel" || s[3] == "files" || s[3] == "events" || s[3] == "cache-report")) {
      return route(s[3]);
    }
    if (s.size() >= 6 && s[3] == "tasks" && s[5] == "modifications") return route("modifications");
  }
  return route("other");
}

struct Metrics {
  std::atomic<std::uint64_t> requests{0}, errors4xx{0}, errors5xx{0};
  std::array<LatencyHistogram, kRoutes.size()> latency;  // by route; streams are not timed
  std::atomic<std::int64_t> openHttp{0}, openSse{0}, openLongPoll{0};
  std::atomic<std::uint64_t> slowClientsDisconnected{0};  // SSE; WebSocket counts its own
  std::atomic<std::uint64_t> authFailures{0}, rateLimited{0}, forwarded{0};
  ws::Stats webSocket;
};

class Gauge {
 public:
  explicit Gauge(std::atomic<std::int64_t>& g) : g_(g) { ++g_; }
  ~Gauge() { --g_; }

 private:
  std::atomic<std::int64_t>& g_;
};

// ---- Responses -----------------------------------------------------------------

Response jsonResponse(http::status status, const boost::json::value& body, const Request& req) {
  Response res{status, req.version()};
  res.set(http::field::content_type, "application/json");
  res.set(http::field::server, "youmeyou");
  res.keep_alive(req.keep_alive());
  // Error messages quote what the client sent (a path, a query parameter),
  // which may be any bytes; the body must stay UTF-8 to be JSON at all, so
  // invalid sequences become U+FFFD here, once, for every JSON answer.
  std::string text = json::compact(body);
  res.body() = ws::validUtf8(text) ? std::move(text) : ws::sanitizeUtf8(text);
  res.prepare_payload();
  return res;
}

Response errorResponse(http::status status, std::string_view code, const std::string& message, const Request& req) {
  return jsonResponse(status, boost::json::object{{"error", {{"code", code}, {"message", message}}}}, req);
}

Response textResponse(http::status status, std::string body, std::string_view type, const Request& req) {
  Response res{status, req.version()};
  res.set(http::field::content_type, type);
  res.keep_alive(req.keep_alive());
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

http::status statusFor(const Error& e) {
  switch (e.code) {
    case ErrorCode::kInvalidArgument: return http::status::bad_request;
    case ErrorCode::kNotFound: return http::status::not_found;
    case ErrorCode::kInvalidPlan: return http::status::unprocessable_entity;
    case ErrorCode::kConflict: return http::status::conflict;
    case ErrorCode::kUnprocessable: return http::status::unprocessable_entity;
    case ErrorCode::kTooSoon: return http::status::too_many_requests;
    case ErrorCode::kUnauthenticated: return http::status::unauthorized;
    case ErrorCode::kForbidden: return http::status::forbidden;
    case ErrorCode::kIo: return http::status::service_unavailable;
    case ErrorCode::kInternal: return http::status::internal_server_error;
  }
  return http::status::internal_server_error;
}

// Whole seconds until a kTooSoon refusal may succeed, at least 1. Only the
// modification cooldown knows how long is left (Error::retryAfterMs); the
// others (executions at once, a busy password hasher) clear whenever
// something finishes, so 1 s is the honest answer.
std::int64_t retryAfterSeconds(const Error& e) {
  if (e.retryAfterMs <= 0) return 1;
  return std::max<std::int64_t>(1, (e.retryAfterMs + 999) / 1000);
}

Response fromError(const Error& e, const Request& req) {
  Response res = errorResponse(statusFor(e), errorCodeName(e.code), e.message, req);
  if (e.code == ErrorCode::kUnauthenticated) res.set(http::field::www_authenticate, "Bearer realm=\"youmeyou\"");
  // Every 429 tells the client when to come back (RFC 6585).
  if (statusFor(e) == http::status::too_many_requests) res.set(http::field::retry_after, std::to_string(retryAfterSeconds(e)));
  return res;
}

// Who is asking. Without auth: the one local user, who may do everything.
struct Caller {
  std::string userId = "local";
  std::string tier = "local";
  std::vector<std::string> permissions;
  const auth::TierLimits* limits = nullptr;  // null: no limits (auth off)

  bool can(std::string_view permission) const {
    return limits == nullptr || std::find(permissions.begin(), permissions.end(), permission) != permissions.end();
  }
};

void setRateHeaders(Response& res, const auth::Decision& d) {
  res.set("RateLimit-Limit", std::to_string(d.limit));
  res.set("RateLimit-Remaining", std::to_string(d.remaining));
  res.set("RateLimit-Reset", std::to_string(d.resetAfterSeconds()));
  if (!d.allowed) res.set(http::field::retry_after, std::to_string(d.retryAfterSeconds()));
}

// "40 s", "12 min", "8 h": how long a person should wait, rounded up.
std::string waitText(std::int64_t seconds) {
  if (seconds < 120) return std::to_string(seconds) + " s";
  if (seconds < 2 * 3600) return std::to_string((seconds + 59) / 60) + " min";
  return std::to_string((seconds + 3599) / 3600) + " h";
}

Response tooManyRequests(const Request& req, const auth::Decision& d, const std::string& what) {
  Response res = errorResponse(http::status::too_many_requests, "rate_limited",
                               what + "; try again in " + waitText(d.retryAfterSeconds()), req);
  setRateHeaders(res, d);
  return res;
}

// ---- Request parsing ------------------------------------------------------------

struct Target {
  std::vector<std::string> segments;  // "/api/projects/x" -> {"api", "projects", "x"}
  std::map<std::string, std::string> query;
};

std::string percentDecode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else if (s[i] == '+') {
      out += ' ';
    } else {
      out += s[i];
    }
  }
  return out;
}

Target parseTarget(std::string_view target) {
  Target t;
  auto q = target.find('?');
  std::string_view path = target.substr(0, q);
  std::size_t start = 0;
  while (start <= path.size()) {
    auto end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    if (end > start) t.segments.push_back(percentDecode(path.substr(start, end - start)));
    start = end + 1;
  }
  if (q != std::string_view::npos) {
    std::string_view query = target.substr(q + 1);
    std::size_t i = 0;
    while (i <= query.size()) {
      auto amp = query.find('&', i);
      if (amp == std::string_view::npos) amp = query.size();
      auto pair = query.substr(i, amp - i);
      auto eq = pair.find('=');
      if (!pair.empty()) {
        t.query[percentDecode(pair.substr(0, eq))] = eq == std::string_view::npos ? "" : percentDecode(pair.substr(eq + 1));
      }
      i = amp + 1;
    }
  }
  return t;
}

// Whether path segments are `parts`, where "*" matches any one segment.
bool pathIs(const std::vector<std::string>& segments, std::initializer_list<const char*> parts) {
  if (segments.size() != parts.size()) return false;
  std::size_t i = 0;
  for (const char* p : parts) {
    if (std::string_view(p) != "*" && segments[i] != p) return false;
    ++i;
  }
  return true;
}

// A non-negative integer from 0 to `max`; errors name where it came from
// (`what`: "query parameter 'after'", "header 'Last-Event-ID'").
Result<std::uint64_t> parseNumber(std::string_view text, const std::string& what, std::uint64_t max) {
  std::uint64_t v = 0;
  for (char c : text) {
    const auto digit = static_cast<std::uint64_t>(c - '0');
    if (c < '0' || c > '9' || digit > max || v > (max - digit) / 10) {  // checked before it could overflow
      return fail(ErrorCode::kInvalidArgument, what + " must be a whole number from 0 to " + std::to_string(max));
    }
    v = v * 10 + digit;
  }
  return v;
}

// A non-negative integer query parameter; errors name the parameter.
Result<std::uint64_t> queryNumber(const Target& t, const std::string& name, std::uint64_t fallback, std::uint64_t max) {
  auto it = t.query.find(name);
  if (it == t.query.end() || it->second.empty()) return fallback;
  return parseNumber(it->second, "query parameter '" + name + "'", max);
}

Result<boost::json::value> parseBody(const Request& req) {
  if (req.body().empty()) return fail(ErrorCode::kInvalidArgument, "request body is empty; expected JSON");
  return json::parse(req.body(), "request body");
}

// ---- Streaming queue --------------------------------------------------------------

// Filled by the bus (any thread, under the bus's channel lock), drained by the
// connection's writer on its shard's thread.
class StreamQueue final : public bus::Subscriber, public std::enable_shared_from_this<StreamQueue> {
 public:
  StreamQueue(net::any_io_executor executor, std::size_t limit)
      : executor_(executor), timer_(executor), limit_(limit) {}

  bool deliver(const bus::Published& event) override {
    bool post = false, accepted = false;
    {
      std::lock_guard lock(mutex_);
      if (closed_) return false;
      if (queue_.size() >= limit_) {
        overflow_ = true;
      } else {
        queue_.push_back(event);
        accepted = true;
      }
      // One wake-up per burst: the writer drains everything queued when it runs.
      post = !wakePending_;
      wakePending_ = true;
    }
    if (post) wake();
    return accepted;
  }

  void close(std::string reason) {
    {
      std::lock_guard lock(mutex_);
      if (closed_) return;
      closed_ = true;
      reason_ = std::move(reason);
      wakePending_ = true;
    }
    wake();
  }

  enum class Next { kEvents, kHeartbeat, kOverflow, kClosed };
  // Waits (on the connection's thread) for events, a heartbeat interval, overflow or close.
  net::awaitable<Next> next(std::vector<bus::Published>& out, std::chrono::steady_clock::duration heartbeat) {
    for (;;) {
      {
        std::lock_guard lock(mutex_);
        if (overflow_) co_return Next::kOverflow;
        if (!queue_.empty()) {
          out.assign(queue_.begin(), queue_.end());
          queue_.clear();
          co_return Next::kEvents;
        }
        if (closed_) co_return Next::kClosed;
      }
      timer_.expires_after(heartbeat);
      auto [ec] = co_await timer_.async_wait(nothrow);
      if (!ec) co_return Next::kHeartbeat;
    }
  }

  std::string reason() {
    std::lock_guard lock(mutex_);
    return reason_;
  }

 private:
  void wake() {
    net::post(executor_, [self = shared_from_this()] {
      {
        std::lock_guard lock(self->mutex_);
        self->wakePending_ = false;
      }
      self->timer_.cancel();
    });
  }

  net::any_io_executor executor_;
  net::steady_timer timer_;
  const std::size_t limit_;
  std::mutex mutex_;
  std::deque<bus::Published> queue_;  // guarded by mutex_
  bool overflow_ = false;             // guarded by mutex_
  bool closed_ = false;               // guarded by mutex_
  bool wakePending_ = false;          // a wake-up is posted and has not run; guarded by mutex_
  std::string reason_;                // guarded by mutex_
};

}  // namespace

// ---- The server ---------------------------------------------------------------------

class Server::Impl final : public ws::Handler {
  // One thread's io_context and its WebSocket connections.
  struct IoShard {
    net::io_context ioc{1};
    std::unique_ptr<ws::Shard> ws;  // destroyed before its io_context
  };

 public:
  Impl(ServerOptions options, const engine::Engine& engine, store::Store& store, ServerServices services)
      : options_(std::move(options)),
        engine_(engine),
        store_(store),
        cache_(services.cache),
        auth_(services.auth),
        limiter_(services.limiter),
        tiers_(services.tiers),
        bus_(store, services.relay),
        manager_(
            engine, store, bus_, clock_,
            [&] {
              executor::ModificationPolicy policy;
              policy.cooldown = options_.modificationCooldown;
              return policy;
            }(),
            services.cache, services.llmPlan, services.llmAgents, services.llmIntent) {
    const ws::Options wsOptions{options_.maxWebSocketMessageBytes, options_.streamQueueLimit, options_.heartbeat,
                                options_.idleTimeout};
    for (std::size_t i = 0; i < std::max<std::size_t>(1, options_.threads); ++i) {
      auto shard = std::make_unique<IoShard>();
      shard->ws = std::make_unique<ws::Shard>(shard->ioc, wsOptions, *this, metrics_.webSocket);
      shards_.push_back(std::move(shard));
    }
    acceptor_.emplace(shards_.front()->ioc);
  }

  ~Impl() {
    stop("server destroyed");
    wait();
  }

  Result<unsigned short> start() {
    boost::system::error_code ec;
    auto address = net::ip::make_address(options_.bind, ec);
    if (ec) return fail(ErrorCode::kInvalidArgument, "cannot bind to '" + options_.bind + "': " + ec.message());
    tcp::endpoint endpoint(address, options_.port);
    acceptor_->open(endpoint.protocol(), ec);
    if (!ec) acceptor_->set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_->bind(endpoint, ec);
    if (!ec) acceptor_->listen(net::socket_base::max_listen_connections, ec);
    if (ec) {
      return fail(ErrorCode::kIo, "cannot listen on " + options_.bind + ":" + std::to_string(options_.port) + ": " +
                                      ec.message());
    }
    port_ = acceptor_->local_endpoint().port();
    if (!options_.instanceId.empty()) {
      if (options_.advertiseAddress.empty()) {
        auto host = options_.bind;
        if (host == "0.0.0.0" || host == "::") host = net::ip::host_name();
        options_.advertiseAddress = "http://" + host + ":" + std::to_string(port_);
      }
      manager_.joinCluster(ClusterOptions{options_.instanceId, options_.advertiseAddress, options_.leaseTtl});
    }
    if (auto resumed = manager_.resumeUnfinished(); !resumed) return tl::unexpected(resumed.error());
    // Retries writes a store outage held back; in a cluster also renews
    // leases and takes over orphans, often enough to replace a dead owner
    // within a lease's lifetime plus a second.
    manager_.startMaintenance(options_.instanceId.empty()
                                  ? std::chrono::milliseconds(1000)
                                  : std::clamp(options_.leaseTtl / 5, std::chrono::milliseconds(50),
                                               std::chrono::milliseconds(1000)));
    net::co_spawn(shards_.front()->ioc, accept(), net::detached);
    for (auto& shard : shards_) threads_.emplace_back([&ioc = shard->ioc] { ioc.run(); });
    return port_;
  }

  void stop(const std::string& reason) {
    if (stopping_.exchange(true)) return;
    net::post(shards_.front()->ioc, [this] {
      boost::system::error_code ec;
      acceptor_->close(ec);
    });
    manager_.shutdown(reason);  // executions publish their final events first
    bus_.close();
    std::vector<std::shared_ptr<StreamQueue>> streams;
    {
      std::lock_guard lock(streamsMutex_);
      streams.assign(streams_.begin(), streams_.end());
    }
    for (auto& s : streams) s->close(reason);
    for (auto& shard : shards_) shard->ws->closeAll(reason);
    // Streams send their close frames on their shards; plain keep-alive
    // connections are cut when the contexts stop.
    net::post(shards_.front()->ioc, [this] { shutdownTimer(); });
  }

  void wait() {
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
    threads_.clear();
  }

 private:
  void shutdownTimer() {
    auto timer = std::make_shared<net::steady_timer>(shards_.front()->ioc, std::chrono::milliseconds(500));
    timer->async_wait([this, timer](boost::system::error_code) {
      for (auto& shard : shards_) shard->ioc.stop();
    });
  }

  // Connections go round-robin to the shards.
  net::awaitable<void> accept() {
    for (std::size_t next = 0;; ++next) {
      IoShard& shard = *shards_[next % shards_.size()];
      auto [ec, socket] = co_await acceptor_->async_accept(shard.ioc, nothrow);
      if (ec) {
        if (!acceptor_->is_open()) co_return;
        continue;
      }
      net::co_spawn(shard.ioc, session(shard, std::move(socket)), net::detached);
    }
  }

  net::awaitable<void> session(IoShard& shard, tcp::socket socket) {
    beast::tcp_stream stream(std::move(socket));
    beast::flat_buffer buffer;
    Gauge open(metrics_.openHttp);
    for (;;) {
      http::request_parser<http::string_body> parser;
      parser.header_limit(static_cast<std::uint32_t>(options_.maxHeaderBytes));
      parser.body_limit(options_.maxBodyBytes);
      stream.expires_after(options_.readTimeout);
      auto [ec, bytes] = co_await http::async_read(stream, buffer, parser, nothrow);
      if (ec == http::error::end_of_stream || ec == beast::error::timeout || ec == net::error::eof) break;
      if (ec) {
        Request dummy;
        dummy.version(11);
        dummy.keep_alive(false);
        Response res = ec == http::error::body_limit
                           ? errorResponse(http::status::payload_too_large, "invalid_argument",
                                           "request body is larger than " + std::to_string(options_.maxBodyBytes) +
                                               " bytes",
                                           dummy)
                       : ec == http::error::header_limit
                           ? errorResponse(http::status::request_header_fields_too_large, "invalid_argument",
                                           "request headers are larger than " +
                                               std::to_string(options_.maxHeaderBytes) + " bytes",
                                           dummy)
                           : errorResponse(http::status::bad_request, "invalid_argument",
                                           "malformed HTTP request: " + ec.message(), dummy);
        res.keep_alive(false);
        co_await http::async_write(stream, res, nothrow);
        break;
      }
      Request req = parser.release();
      Target target = parseTarget(req.target());
      const auto started = std::chrono::steady_clock::now();
      ++metrics_.requests;

      const bool isWebSocket = target.segments == std::vector<std::string>{"stream"};
      const bool isSse = req.method() == http::verb::get && target.segments.size() == 4 &&
                         target.segments[0] == "api" && target.segments[1] == "executions" &&
                         target.segments[3] == "stream";
      boost::system::error_code addressError;
      const auto remote = stream.socket().remote_endpoint(addressError);
      Gate gate = admit(req, target, addressError ? std::string("unknown") : remote.address().to_string(),
                        isWebSocket || isSse);
      if (gate.refused) {
        metrics_.latency[routeIndex(target.segments)].observe(std::chrono::steady_clock::now() - started);
        const bool keepAlive = gate.refused->keep_alive() && !isWebSocket && !isSse;
        gate.refused->keep_alive(keepAlive);
        if (!co_await write(stream, std::move(*gate.refused)) || !keepAlive) break;
        continue;
      }
      if (isWebSocket) {
        if (!websocket::is_upgrade(req)) {
          co_await write(stream, errorResponse(http::status::upgrade_required, "invalid_argument",
                                               "/stream is a WebSocket endpoint", req));
          break;
        }
        co_await serveWebSocket(shard, std::move(stream), buffer, std::move(req), target, gate.caller.userId);
        co_return;
      }
      if (isSse) {
        co_await serveSse(stream, req, target);
        break;
      }
      Response res;
      if (req.method() == http::verb::get && target.segments.size() == 4 && target.segments[0] == "api" &&
          target.segments[1] == "executions" && target.segments[3] == "events") {
        res = co_await longPoll(req, target);
      } else if (auto owner = remoteOwner(req, target)) {
        res = co_await forward(std::move(req), *owner);
      } else {
        res = handle(req, target, gate.caller);
      }
      // A handler's own quota decision (a refused design run) stands over the request rate's.
      if (gate.decision && res.find("RateLimit-Limit") == res.end()) setRateHeaders(res, *gate.decision);
      metrics_.latency[routeIndex(target.segments)].observe(std::chrono::steady_clock::now() - started);
      const bool keepAlive = res.keep_alive();
      if (!co_await write(stream, std::move(res))) break;
      if (!keepAlive) break;
    }
    boost::system::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  }

  // ---- Several instances ----

  // Commands that need an execution's live run (cancel, step modifications)
  // go to the instance that runs it. A forwarded request is never forwarded
  // again: the owner answers from what it knows.
  static constexpr std::string_view kForwardedHeader = "X-YouMeYou-Forwarded-By";

  std::optional<Placement> remoteOwner(const Request& req, const Target& t) {
    if (options_.instanceId.empty() || req.method() != http::verb::post) return std::nullopt;
    const auto& s = t.segments;
    const bool command = s.size() >= 4 && s[0] == "api" && s[1] == "executions" &&
                         (s[3] == "cancel" || (s.size() >= 6 && s[3] == "tasks" && s[5] == "modifications"));
    if (!command || req.find(kForwardedHeader) != req.end()) return std::nullopt;
    auto where = manager_.placement(s[2]);
    if (where.kind == Placement::Kind::kElsewhere || where.kind == Placement::Kind::kOrphaned) return where;
    return std::nullopt;
  }

  net::awaitable<Response> forward(Request req, const Placement& owner) {
    const auto id = parseTarget(req.target()).segments.at(2);
    auto unavailable = [&](const std::string& why) {
      auto res = errorResponse(http::status::service_unavailable, "unavailable",
                               "execution " + id + " runs on instance " + owner.owner + ", which " + why +
                                   "; another instance takes it over within seconds: retry",
                               req);
      res.set(http::field::retry_after, "1");
      return res;
    };
    if (owner.kind == Placement::Kind::kOrphaned) co_return unavailable("stopped answering (its lease expired)");
    std::string_view address = owner.address;
    if (address.rfind("http://", 0) == 0) address.remove_prefix(7);
    while (!address.empty() && address.back() == '/') address.remove_suffix(1);
    const auto colon = address.rfind(':');
    if (colon == std::string_view::npos) co_return unavailable("has no usable address ('" + owner.address + "')");
    const std::string host(address.substr(0, colon)), port(address.substr(colon + 1));

    auto executor = co_await net::this_coro::executor;
    tcp::resolver resolver(executor);
    auto [rec, endpoints] = co_await resolver.async_resolve(host, port, nothrow);
    if (rec) co_return unavailable("cannot be found at " + owner.address + " (" + rec.message() + ")");
    beast::tcp_stream upstream(executor);
    upstream.expires_after(std::chrono::seconds(5));
    auto [cec, connected] = co_await upstream.async_connect(endpoints, nothrow);
    if (cec) co_return unavailable("does not answer at " + owner.address + " (" + cec.message() + ")");
    const bool keepAlive = req.keep_alive();
    req.set(kForwardedHeader, options_.instanceId);
    req.keep_alive(false);
    req.prepare_payload();
    auto [wec, written] = co_await http::async_write(upstream, req, nothrow);
    if (wec) co_return unavailable("dropped the request (" + wec.message() + ")");
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(options_.maxBodyBytes * 4);
    upstream.expires_after(std::chrono::seconds(30));
    auto [rdec, read] = co_await http::async_read(upstream, buffer, parser, nothrow);
    if (rdec) co_return unavailable("did not answer (" + rdec.message() + ")");
    ++metrics_.forwarded;
    Response res = parser.release();
    res.keep_alive(keepAlive);
    co_return res;
  }

  net::awaitable<bool> write(beast::tcp_stream& stream, Response res) {
    auto code = res.result_int();
    if (code >= 500) {
      ++metrics_.errors5xx;
    } else if (code >= 400) {
      ++metrics_.errors4xx;
    }
    stream.expires_after(options_.readTimeout);
    auto [ec, n] = co_await http::async_write(stream, res, nothrow);
    co_return !ec;
  }

  // ---- Authentication, rate limits and access ----

  // What a request may do, or the response refusing it.
  struct Gate {
    Caller caller;
    std::optional<auth::Decision> decision;  // shown in the RateLimit-* headers
    std::optional<Response> refused;
  };

  // Sign-up and sign-in attempts per client address.
  static constexpr auth::Limit kAddressLimit{20, std::chrono::minutes(1), 10};

  Gate admit(const Request& req, const Target& t, const std::string& remote, bool tokenInQuery) {
    Gate g;
    const auto& s = t.segments;
    const bool guarded = !s.empty() && (s[0] == "api" || s[0] == "session" || s[0] == "stream");
    if (auth_ == nullptr) {
      g.caller.permissions = {"*"};
      return g;  // single-user local mode
    }
    if (!guarded) return g;  // the web app, healthz, metrics
    if (s.size() >= 2 && s[0] == "api" && s[1] == "auth") {
      if (limiter_ != nullptr && req.method() == http::verb::post) {
        auto d = limiter_->decide("ip:" + remote, kAddressLimit);
        g.decision = d;
        if (!d.allowed) {
          ++metrics_.rateLimited;
          g.refused = tooManyRequests(req, d, "too many sign-up and sign-in attempts from " + remote);
        }
      }
      return g;
    }
    std::string token;
    if (auto it = req.find(http::field::authorization); it != req.end()) {
      const std::string_view value = it->value();
      if (value.size() > 7 && boost::beast::iequals(value.substr(0, 7), "Bearer ")) token = std::string(value.substr(7));
    } else if (tokenInQuery && t.query.count("access_token")) {
      token = t.query.at("access_token");  // EventSource and WebSocket cannot send headers
    }
    if (token.empty()) {
      ++metrics_.authFailures;
      g.refused = fromError(Error(ErrorCode::kUnauthenticated,
                                  "missing bearer token: log in (POST /api/auth/login) and send "
                                  "'Authorization: Bearer <token>'"),
                            req);
      return g;
    }
    auto identity = auth_->validate(token);
    if (!identity) {
      ++metrics_.authFailures;
      g.refused = fromError(identity.error(), req);
      return g;
    }
    g.caller = Caller{identity->userId, identity->tier, identity->permissions, tiers_->find(identity->tier)};
    if (limiter_ != nullptr && g.caller.limits != nullptr) {
      const auto& l = *g.caller.limits;
      auto minute = limiter_->decide("u:" + g.caller.userId, auth::Limit{l.requestsPerMinute, std::chrono::minutes(1), l.burst});
      g.decision = minute;
      if (!minute.allowed) {
        ++metrics_.rateLimited;
        g.refused = tooManyRequests(req, minute,
                                    "rate limit of the " + l.name + " tier: " + std::to_string(l.requestsPerMinute) +
                                        " requests per minute, bursts of " + std::to_string(l.burst));
        return g;
      }
      if (l.requestsPerDay) {
        auto day = limiter_->decide("ud:" + g.caller.userId,
                                    auth::Limit{*l.requestsPerDay, std::chrono::hours(24), *l.requestsPerDay});
        if (!day.allowed) {
          ++metrics_.rateLimited;
          g.decision = day;
          g.refused = tooManyRequests(req, day, "daily limit of the " + l.name + " tier: " +
                                                    std::to_string(*l.requestsPerDay) + " requests");
          return g;
        }
      }
    }
    if (auto denied = checkAccess(req, t, g.caller)) g.refused = std::move(*denied);
    return g;
  }

  // Another user's project or execution is not found, whatever the route or
  // transport; a route the caller's tier does not include is forbidden.
  std::optional<Response> checkAccess(const Request& req, const Target& t, const Caller& caller) {
    const auto& s = t.segments;
    const auto method = req.method();
    auto notFound = [&](const char* kind, const std::string& id) {
      return errorResponse(http::status::not_found, "not_found", std::string(kind) + " " + id + " not found", req);
    };
    if (s.size() >= 3 && s[0] == "api" && s[1] == "projects") {
      if (auto p = store_.getProject(s[2]); p && p->ownerId != caller.userId) return notFound("project", s[2]);
    }
    if (s.size() >= 3 && s[0] == "api" && s[1] == "executions") {
      if (auto e = store_.getExecution(s[2]); e && e->ownerId != caller.userId) return notFound("execution", s[2]);
    }
    std::string_view needed;
    if (s.size() >= 2 && s[0] == "api" && s[1] == "projects") {
      needed = method == http::verb::get ? "projects:read" : "projects:write";
    } else if (s.size() == 2 && s[0] == "api" && s[1] == "design") {
      needed = "design:run";
    } else if (s.size() == 4 && s[0] == "api" && s[1] == "executions" && s[3] == "cancel") {
      needed = "design:run";
    } else if (s.size() >= 6 && s[0] == "api" && s[1] == "executions" && s[5] == "modifications") {
      needed = "design:modify";
    } else if (s.size() == 4 && s[0] == "api" && s[1] == "executions" && s[3] == "files" && t.query.count("format") &&
               t.query.at("format") == "zip") {
      needed = "files:export";
    } else if (s.size() == 2 && s[0] == "api" && s[1] == "cache") {
      needed = "admin:cache";
    }
    if (!needed.empty() && !caller.can(needed)) {
      return errorResponse(http::status::forbidden, "forbidden",
                           "the " + caller.tier + " tier does not include " + std::string(needed), req);
    }
    return std::nullopt;
  }

  // ---- Accounts ----

  Response authRoute(const Request& req, const std::string& action, const Caller& caller) {
    if (action == "config") {
      return jsonResponse(http::status::ok, {{"auth", auth_ ? "on" : "off"}}, req);
    }
    if (action == "validate") {
      boost::json::array permissions;
      if (auth_) {
        for (const auto& p : caller.permissions) permissions.emplace_back(p);
      } else {
        permissions.emplace_back("*");
      }
      return jsonResponse(http::status::ok,
                          {{"userId", caller.userId}, {"tier", caller.tier}, {"permissions", std::move(permissions)}}, req);
    }
    if (!auth_) {
      return errorResponse(http::status::conflict, "conflict",
                           "accounts are off on this server: it runs in single-user mode (serve --auth on)", req);
    }
    auto body = parseBody(req);
    if (!body) return fromError(body.error(), req);
    auto credentials = json::guarded([&] {
      json::Reader r(*body, "body");
      return std::make_pair(r.at("email").str(), r.at("password").str());
    });
    if (!credentials) return fromError(credentials.error(), req);
    auto session = action == "register" ? auth_->registerUser(credentials->first, credentials->second)
                                        : auth_->login(credentials->first, credentials->second);
    if (!session) return fromError(session.error(), req);  // a busy hasher's 429 carries Retry-After
    return jsonResponse(action == "register" ? http::status::created : http::status::ok,
                        {{"userId", session->userId}, {"token", session->token}, {"tier", session->tier}}, req);
  }

  // ---- Plain routes ----

  // The methods each API path accepts (methods are checked here, once, so
  // every route answers a wrong one alike: 405 with Allow). Empty: no such
  // route. /stream is the WebSocket's and is answered before routing.
  static std::vector<http::verb> allowedMethods(const std::vector<std::string>& s) {
    using v = http::verb;
    auto is = [&](std::initializer_list<const char*> parts) { return pathIs(s, parts); };
    if (is({"healthz"}) || is({"metrics"})) return {v::get};
    if (is({"api", "auth", "config"})) return {v::get};
    if (is({"api", "auth", "register"}) || is({"api", "auth", "login"}) || is({"session", "validate"})) return {v::post};
    if (is({"api", "projects"})) return {v::get, v::post};
    if (is({"api", "projects", "*"})) return {v::get};
    if (is({"api", "projects", "*", "canvas"})) return {v::get, v::put};
    if (is({"api", "projects", "*", "export"})) return {v::get};
    if (is({"api", "design"})) return {v::post};
    if (is({"api", "cache"})) return {v::get, v::delete_};
    if (is({"api", "executions", "*"})) return {v::get};
    if (is({"api", "executions", "*", "cancel"}) || is({"api", "executions", "*", "cache-report"})) return {v::post};
    if (is({"api", "executions", "*", "events"}) || is({"api", "executions", "*", "stream"})) return {v::get};
    if (s.size() >= 4 && s[0] == "api" && s[1] == "executions" && s[3] == "files") return {v::get};
    if (is({"api", "executions", "*", "tasks", "*", "modifications"}) ||
        is({"api", "executions", "*", "tasks", "*", "modifications", "preview"})) {
      return {v::post};
    }
    return {};
  }

  Response handle(const Request& req, const Target& t, const Caller& caller) {
    const auto& s = t.segments;
    const auto method = req.method();
    const auto allowed = allowedMethods(s);
    if (!allowed.empty() && std::find(allowed.begin(), allowed.end(), method) == allowed.end()) {
      return methodNotAllowed(req, allowed);
    }
    auto is = [&](std::initializer_list<const char*> parts) { return pathIs(s, parts); };
    // From here on a known path comes with one of its methods.
    if (is({"healthz"})) {
      boost::json::object health{{"status", "ok"}};
      if (!options_.instanceId.empty()) health["instance"] = options_.instanceId;
      return jsonResponse(http::status::ok, std::move(health), req);
    }
    if (is({"metrics"})) return textResponse(http::status::ok, metricsText(), "text/plain; version=0.0.4", req);
    if (is({"api", "auth", "*"}) && !allowed.empty()) return authRoute(req, s[2], caller);  // register, login, config
    if (is({"session", "validate"})) return authRoute(req, "validate", caller);
    if (is({"api", "projects"})) return method == http::verb::post ? createProject(req, caller) : listProjects(req, caller);
    if (is({"api", "projects", "*"})) return getProject(req, s[2]);
    if (is({"api", "projects", "*", "canvas"})) {
      return method == http::verb::put ? putCanvas(req, s[2]) : getCanvas(req, s[2], t);
    }
    if (is({"api", "projects", "*", "export"})) return exportCanvas(req, s[2], t);
    if (is({"api", "design"})) return design(req, caller);
    if (is({"api", "executions", "*"})) {
      auto state = manager_.state(s[2]);
      if (!state) return fromError(state.error(), req);
      return jsonResponse(http::status::ok, *state, req);
    }
    if (is({"api", "executions", "*", "cancel"})) return cancel(req, s[2]);
    if (s.size() >= 4 && s[0] == "api" && s[1] == "executions" && s[3] == "files") return files(req, s, t);
    if (is({"api", "executions", "*", "cache-report"})) {
      auto report = manager_.reportFalseHit(s[2]);
      if (!report) return fromError(report.error(), req);
      return jsonResponse(http::status::ok, *report, req);
    }
    if (is({"api", "cache"})) return method == http::verb::delete_ ? clearCache(req) : cacheStats(req);
    const bool preview = is({"api", "executions", "*", "tasks", "*", "modifications", "preview"});
    if (preview || is({"api", "executions", "*", "tasks", "*", "modifications"})) {
      return modification(req, s[2], s[4], preview);
    }
    if ((method == http::verb::get || method == http::verb::head) && (s.empty() || (s[0] != "api" && s[0] != "session"))) {
      return staticFile(req, s);
    }
    return errorResponse(http::status::not_found, "not_found", "no route for " + std::string(req.method_string()) + " " +
                                                                   std::string(req.target()),
                         req);
  }

  // A graceful stop of a running execution. A finished one has nothing to
  // stop: saying "cancelling" would be a lie the client then waits on.
  Response cancel(const Request& req, const std::string& id) {
    // The manager's state, not the stored record: the record is marked
    // finished a moment after the summary is out, and state() waits that out.
    auto state = manager_.state(id);
    if (!state) return fromError(state.error(), req);
    const auto* status = state->is_object() ? state->as_object().if_contains("status") : nullptr;
    if (status && status->is_string() && status->get_string() != "running") {
      return errorResponse(http::status::conflict, "conflict",
                           "execution " + id + " already " + std::string(status->get_string()) +
                               "; only a running execution can be cancelled",
                           req);
    }
    auto ok = manager_.cancel(id, "cancelled by the user");
    if (!ok) return fromError(ok.error(), req);
    return jsonResponse(http::status::accepted, {{"executionId", id}, {"cancelling", true}}, req);
  }

  // The web app's files. Hashed build outputs (assets/) are immutable; the
  // rest, index.html above all, is revalidated so a new build shows at once.
  Response staticFile(const Request& req, const std::vector<std::string>& segments) {
    if (options_.webRoot.empty()) {
      return textResponse(http::status::not_found,
                          "The web app is not built here: run `make build`, or use the API under /api "
                          "(see the README).\n",
                          "text/plain; charset=utf-8", req);
    }
    std::filesystem::path path(options_.webRoot);
    for (const auto& part : segments) {
      if (part.empty() || part == "." || part == ".." || part.find_first_of(std::string("/\\\0", 3)) != std::string::npos) {
        return errorResponse(http::status::bad_request, "invalid_argument", "bad path", req);
      }
      path /= part;
    }
    std::error_code ec;
    const bool isAsset = !segments.empty() && segments.front() == "assets";
    if (segments.empty() || !std::filesystem::is_regular_file(path, ec)) {
      // Client-side routes get the app; a missing asset is a 404.
      if (isAsset || (!segments.empty() && segments.back().find('.') != std::string::npos)) {
        return errorResponse(http::status::not_found, "not_found", "no file " + std::string(req.target()), req);
      }
      path = std::filesystem::path(options_.webRoot) / "index.html";
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) return errorResponse(http::status::not_found, "not_found", "no file " + std::string(req.target()), req);
    std::ostringstream body;
    body << in.rdbuf();
    static const std::map<std::string, std::string_view> kTypes{
        {".html", "text/html; charset=utf-8"}, {".js", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},   {".json", "application/json"},
        {".svg", "image/svg+xml"},             {".png", "image/png"},
        {".ico", "image/x-icon"},              {".woff2", "font/woff2"},
        {".map", "application/json"},          {".txt", "text/plain; charset=utf-8"}};
    const auto type = kTypes.find(path.extension().string());
    Response res = textResponse(http::status::ok, body.str(),
                                type == kTypes.end() ? std::string_view("application/octet-stream") : type->second, req);
    res.set(http::field::cache_control, isAsset ? "public, max-age=31536000, immutable" : "no-cache");
    res.set("X-Content-Type-Options", "nosniff");
    if (req.method() == http::verb::head) res.body().clear();
    return res;
  }

  static Response methodNotAllowed(const Request& req, const std::vector<http::verb>& allowed) {
    std::string list;
    for (auto m : allowed) list += (list.empty() ? "" : ", ") + std::string(http::to_string(m));
    Response res = errorResponse(http::status::method_not_allowed, "invalid_argument",
                                 std::string(req.method_string()) + " is not allowed on " + std::string(req.target()) +
                                     " (it accepts " + list + ")",
                                 req);
    res.set(http::field::allow, list);  // RFC 9110: a 405 must say what is allowed
    return res;
  }

  std::int64_t now() const { return clock_.epochMillis(); }

  Response createProject(const Request& req, const Caller& caller) {
    auto body = parseBody(req);
    if (!body) return fromError(body.error(), req);
    auto parsed = json::guarded([&] {
      json::Reader r(*body, "body");
      std::string name = r.at("name").str();
      if (name.empty() || name.size() > 200) r.at("name").fail("must be 1 to 200 characters");
      return name;
    });
    if (!parsed) return fromError(parsed.error(), req);
    Canvas canvas;
    if (body->is_object() && body->as_object().contains("canvas")) {
      auto c = canvasFromJson(body->as_object().at("canvas"), "body.canvas");
      if (!c) return fromError(c.error(), req);
      canvas = std::move(*c);
    }
    auto project = store_.createProject(*parsed, canvas, now(), caller.userId);
    if (!project) return fromError(project.error(), req);
    return jsonResponse(http::status::created, projectJson(*project, &canvas), req);
  }

  static boost::json::object projectJson(const store::ProjectRecord& p, const Canvas* canvas) {
    boost::json::object o{{"id", p.id}, {"name", p.name}, {"createdAt", p.createdAt}, {"version", p.canvasVersion}};
    if (canvas) o["canvas"] = toJson(*canvas);
    return o;
  }

  Response listProjects(const Request& req, const Caller& caller) {
    auto list = auth_ ? store_.listProjects(caller.userId) : store_.listProjects();
    if (!list) return fromError(list.error(), req);
    boost::json::array out;
    for (const auto& p : *list) out.push_back(projectJson(p, nullptr));
    return jsonResponse(http::status::ok, {{"projects", std::move(out)}}, req);
  }

  Response getProject(const Request& req, const std::string& id) {
    auto p = store_.getProject(id);
    if (!p) return fromError(p.error(), req);
    auto canvas = store_.getCanvas(id);
    if (!canvas) return fromError(canvas.error(), req);
    return jsonResponse(http::status::ok, projectJson(*p, &*canvas), req);
  }

  Response putCanvas(const Request& req, const std::string& id) {
    auto body = parseBody(req);
    if (!body) return fromError(body.error(), req);
    // Either {"canvas": {...}} or the canvas itself.
    const boost::json::value* value = &*body;
    std::string path = "body";
    if (body->is_object() && body->as_object().contains("canvas")) {
      value = &body->as_object().at("canvas");
      path = "body.canvas";
    }
    auto canvas = canvasFromJson(*value, path);
    if (!canvas) return fromError(canvas.error(), req);
    auto version = store_.saveCanvas(id, *canvas, now());
    if (!version) return fromError(version.error(), req);
    return jsonResponse(http::status::ok, {{"projectId", id}, {"version", *version}}, req);
  }

  Response getCanvas(const Request& req, const std::string& id, const Target& t) {
    auto version = queryNumber(t, "version", 0, 1'000'000);
    if (!version) return fromError(version.error(), req);
    auto canvas = store_.getCanvas(id, *version ? std::optional<int>(static_cast<int>(*version)) : std::nullopt);
    if (!canvas) return fromError(canvas.error(), req);
    return jsonResponse(http::status::ok, toJson(*canvas), req);
  }

  Response exportCanvas(const Request& req, const std::string& id, const Target& t) {
    auto canvas = store_.getCanvas(id);
    if (!canvas) return fromError(canvas.error(), req);
    auto format = t.query.count("format") ? t.query.at("format") : "json";
    if (format == "json") return jsonResponse(http::status::ok, toJson(*canvas), req);
    if (format == "mermaid") return textResponse(http::status::ok, codegen::mermaid(*canvas), "text/plain; charset=utf-8", req);
    if (format == "plantuml") {
      return textResponse(http::status::ok, codegen::plantuml(*canvas), "text/plain; charset=utf-8", req);
    }
    if (format == "drawio") {
      Response res = textResponse(http::status::ok, codegen::drawio(*canvas), "application/xml", req);
      res.set(http::field::content_disposition, "attachment; filename=\"" + id + ".drawio\"");
      return res;
    }
    return errorResponse(http::status::bad_request, "invalid_argument",
                         "format '" + format + "' is not supported (json, mermaid, plantuml, drawio)", req);
  }

  Response design(const Request& req, const Caller& caller) {
    auto body = parseBody(req);
    if (!body) return fromError(body.error(), req);
    auto parsed = json::guarded([&] {
      json::Reader r(*body, "body");
      DesignRequest d;
      d.request = r.at("request").str();
      d.projectId = r.strOr("projectId", "");
      if (auto c = r.find("canvas")) {
        auto canvas = canvasFromJson(c->value(), c->path());
        if (!canvas) throw json::ShapeError(canvas.error().message);
        d.canvas = std::move(*canvas);
      }
      if (auto o = r.find("options")) {
        d.simulateLatency = o->numberOr("simulateLatency", 0);
        if (d.simulateLatency < 0 || d.simulateLatency > 100) o->at("simulateLatency").fail("must be from 0 to 100");
        double parallel = o->numberOr("parallel", 0);
        if (parallel < 0 || parallel > 1000 || parallel != static_cast<double>(static_cast<long>(parallel))) {
          o->at("parallel").fail("must be a whole number from 0 to 1000");
        }
        d.parallel = static_cast<std::size_t>(parallel);
        d.stack = o->stringsOr("stack");
        d.useCache = o->booleanOr("cache", true);
      }
      return d;
    });
    if (!parsed) return fromError(parsed.error(), req);
    parsed->tenant = caller.userId;
    if (caller.limits) {
      const auto& l = *caller.limits;
      parsed->maxConcurrent = static_cast<std::size_t>(l.concurrentExecutions);
      parsed->maxPlanTasks = static_cast<std::size_t>(l.maxPlanTasks);
      if (auth_ && !parsed->projectId.empty()) {
        if (auto p = store_.getProject(parsed->projectId); p && p->ownerId != caller.userId) {
          return errorResponse(http::status::not_found, "not_found", "project " + parsed->projectId + " not found", req);
        }
      }
    }
    // The daily quota counts runs that start, so it is decided last, by the manager.
    std::optional<auth::Decision> daily;
    if (limiter_ && caller.limits && caller.limits->designRunsPerDay) {
      const auto& l = *caller.limits;
      parsed->admitRun = [&]() -> Result<void> {
        daily = limiter_->decide("dr:" + caller.userId,
                                 auth::Limit{*l.designRunsPerDay, std::chrono::hours(24), *l.designRunsPerDay});
        if (daily->allowed) return {};
        return fail(ErrorCode::kTooSoon, "the " + l.name + " tier allows " + std::to_string(*l.designRunsPerDay) +
                                             (*l.designRunsPerDay == 1 ? " design run" : " design runs") + " a day");
      };
    }
    auto started = manager_.start(*parsed);
    if (!started && daily && !daily->allowed) {
      ++metrics_.rateLimited;
      return tooManyRequests(req, *daily, started.error().message);
    }
    if (!started) return fromError(started.error(), req);
    return jsonResponse(http::status::accepted,
                        {{"executionId", started->executionId},
                         {"route", routeName(started->route)},
                         {"cache", started->cache},
                         {"stream", "/api/executions/" + started->executionId + "/stream"}},
                        req);
  }

  // {"prompt": "..."}: a preview answers 200 with the impact analysis and
  // changes nothing; applying answers 202 once the regeneration has started.
  Response modification(const Request& req, const std::string& executionId, const std::string& taskId, bool preview) {
    auto body = parseBody(req);
    if (!body) return fromError(body.error(), req);
    auto prompt = json::guarded([&] { return json::Reader(*body, "body").at("prompt").str(); });
    if (!prompt) return fromError(prompt.error(), req);
    auto report = preview ? manager_.previewModification(executionId, taskId, *prompt)
                          : manager_.modify(executionId, taskId, *prompt);
    if (!report) return fromError(report.error(), req);
    return jsonResponse(preview ? http::status::ok : http::status::accepted,
                        {{"executionId", executionId},
                         {"taskId", taskId},
                         {preview ? "allowed" : "applied", true},
                         {"impact", report->toJson()}},
                        req);
  }

  Response files(const Request& req, const std::vector<std::string>& s, const Target& t) {
    auto record = store_.getExecution(s[2]);
    if (!record) return fromError(record.error(), req);
    auto all = store_.files(s[2]);
    if (!all) return fromError(all.error(), req);
    if (s.size() == 4) {
      const std::string format = t.query.count("format") ? t.query.at("format") : "json";
      if (format == "zip") {
        Response res = textResponse(http::status::ok, codegen::zipArchive(*all), "application/zip", req);
        res.set(http::field::content_disposition, "attachment; filename=\"" + s[2] + ".zip\"");
        return res;
      }
      if (format != "json") {
        return errorResponse(http::status::bad_request, "invalid_argument",
                             "format '" + format + "' is not supported (json, zip)", req);
      }
      boost::json::array list;
      for (const auto& f : *all) list.push_back(boost::json::object{{"path", f.path}, {"size", f.content.size()}});
      return jsonResponse(http::status::ok, {{"executionId", s[2]}, {"files", std::move(list)}}, req);
    }
    std::string path;
    for (std::size_t i = 4; i < s.size(); ++i) path += (i > 4 ? "/" : "") + s[i];
    for (const auto& f : *all) {
      if (f.path == path) return textResponse(http::status::ok, f.content, "text/plain; charset=utf-8", req);
    }
    return errorResponse(http::status::not_found, "not_found", "execution " + s[2] + " has no file '" + path + "'", req);
  }

  Response cacheOff(const Request& req) {
    return errorResponse(http::status::conflict, "conflict", "the cache is off (serve --cache off)", req);
  }

  Response cacheStats(const Request& req) {
    if (!cache_) return cacheOff(req);
    const auto st = cache_->stats();
    boost::json::object tiers;
    for (int i = 0; i < 3; ++i) {
      if (i == 1 && !st.l2) continue;
      const auto& t = st.tiers[i];
      tiers[cache::tierName(static_cast<cache::Tier>(i))] =
          boost::json::object{{"hits", t.hits}, {"misses", t.misses}, {"falseHitReports", t.falseHitReports},
                              {"stale", t.stale}};
    }
    boost::json::object l1{{"entries", st.l1.entries}, {"bytes", st.l1.bytes}, {"capacityBytes", st.l1.capacityBytes},
                           {"evictions", st.l1.evictions}, {"expired", st.l1.expired}};
    boost::json::object l3{{"entries", st.l3.entries},       {"pending", st.l3.pending},
                           {"belowThreshold", st.l3.belowThreshold}, {"notReusable", st.l3.notReusable},
                           {"loadedAtStart", st.l3Loaded},    {"path", cache_->options().l3Path.string()}};
    boost::json::object out{{"engineVersion", engine_.version()}, {"tiers", std::move(tiers)}, {"l1", std::move(l1)},
                            {"l3", std::move(l3)}};
    if (st.l2) {
      out["l2"] = boost::json::object{{"connected", st.l2->connected}, {"errors", st.l2->errors},
                                      {"timeouts", st.l2->timeouts}, {"unavailable", st.l2->unavailable},
                                      {"putsWritten", st.l2->putsWritten}, {"putsFailed", st.l2->putsFailed},
                                      {"lastError", st.l2->lastError}};
    }
    return jsonResponse(http::status::ok, out, req);
  }

  Response clearCache(const Request& req) {
    if (!cache_) return cacheOff(req);
    auto cleared = cache_->clear();
    if (!cleared) return fromError(cleared.error(), req);
    return jsonResponse(http::status::ok,
                        {{"cleared", boost::json::object{{"L1", cleared->l1}, {"L2", cleared->l2}, {"L3", cleared->l3}}}},
                        req);
  }

  void cacheMetrics(std::ostream& m) {
    if (!cache_) return;
    const auto st = cache_->stats();
    auto each = [&](const char* name, const char* help, auto field) {
      m << "# HELP " << name << " " << help << "\n# TYPE " << name << " counter\n";
      for (int i = 0; i < 3; ++i) {
        if (i == 1 && !st.l2) continue;
        m << name << "{tier=\"" << cache::tierName(static_cast<cache::Tier>(i)) << "\"} " << field(st.tiers[i]) << "\n";
      }
    };
    each("youmeyou_cache_hits_total", "Design requests answered by a cache tier.",
         [](const cache::TierCounters& t) { return t.hits; });
    each("youmeyou_cache_misses_total", "Design requests a tier could not answer.",
         [](const cache::TierCounters& t) { return t.misses; });
    each("youmeyou_cache_false_hit_reports_total", "Users' reports that a cached answer was wrong.",
         [](const cache::TierCounters& t) { return t.falseHitReports; });
    each("youmeyou_cache_stale_total", "Cached answers whose execution was gone.",
         [](const cache::TierCounters& t) { return t.stale; });
    m << "# TYPE youmeyou_cache_entries gauge\n"
      << "youmeyou_cache_entries{tier=\"L1\"} " << st.l1.entries << "\n"
      << "youmeyou_cache_entries{tier=\"L3\"} " << st.l3.entries << "\n"
      << "# TYPE youmeyou_cache_l1_bytes gauge\nyoumeyou_cache_l1_bytes " << st.l1.bytes << "\n";
    if (st.l2) {
      m << "# TYPE youmeyou_cache_l2_errors_total counter\n"
        << "youmeyou_cache_l2_errors_total{kind=\"error\"} " << st.l2->errors << "\n"
        << "youmeyou_cache_l2_errors_total{kind=\"timeout\"} " << st.l2->timeouts << "\n"
        << "youmeyou_cache_l2_errors_total{kind=\"unavailable\"} " << st.l2->unavailable << "\n"
        << "# TYPE youmeyou_cache_l2_connected gauge\nyoumeyou_cache_l2_connected " << (st.l2->connected ? 1 : 0)
        << "\n";
    }
  }

  std::string metricsText() {
    auto bus = bus_.stats();
    auto counts = manager_.countsByStatus();
    std::ostringstream m;
    m << "# HELP youmeyou_http_requests_total HTTP requests received.\n# TYPE youmeyou_http_requests_total counter\n"
      << "youmeyou_http_requests_total " << metrics_.requests << "\n"
      << "# TYPE youmeyou_http_errors_total counter\n"
      << "youmeyou_http_errors_total{class=\"4xx\"} " << metrics_.errors4xx << "\n"
      << "youmeyou_http_errors_total{class=\"5xx\"} " << metrics_.errors5xx << "\n"
      << "# HELP youmeyou_http_request_duration_seconds Time from a request read to its response ready, by route "
         "(long polls include their wait).\n"
      << "# TYPE youmeyou_http_request_duration_seconds histogram\n";
    for (std::size_t i = 0; i < kRoutes.size(); ++i) {
      m << std::setprecision(6);
      metrics_.latency[i].write(m, "youmeyou_http_request_duration_seconds",
                                std::string("route=\"") + kRoutes[i] + "\"");
    }
    m << "# TYPE youmeyou_open_connections gauge\n"
      << "youmeyou_open_connections{transport=\"http\"} " << metrics_.openHttp << "\n"
      << "youmeyou_open_connections{transport=\"sse\"} " << metrics_.openSse << "\n"
      << "youmeyou_open_connections{transport=\"websocket\"} " << metrics_.webSocket.open << "\n"
      << "youmeyou_open_connections{transport=\"longpoll\"} " << metrics_.openLongPoll << "\n"
      << "# HELP youmeyou_executions Executions running now, and finished since start by final state.\n"
      << "# TYPE youmeyou_executions gauge\n";
    for (const auto& [status, n] : counts) m << "youmeyou_executions{state=\"" << status << "\"} " << n << "\n";
    m << "# TYPE youmeyou_events_published_total counter\nyoumeyou_events_published_total " << bus.published << "\n"
      << "# TYPE youmeyou_events_delivered_total counter\nyoumeyou_events_delivered_total " << bus.delivered << "\n"
      << "# TYPE youmeyou_events_dropped_total counter\nyoumeyou_events_dropped_total " << bus.dropped << "\n"
      << "# HELP youmeyou_bus_relay_total Events through the relay to and from other instances (scale-out).\n"
      << "# TYPE youmeyou_bus_relay_total counter\n"
      << "youmeyou_bus_relay_total{kind=\"published\"} " << bus.relayPublished << "\n"
      << "youmeyou_bus_relay_total{kind=\"received\"} " << bus.relayReceived << "\n"
      << "youmeyou_bus_relay_total{kind=\"duplicate\"} " << bus.relayDuplicates << "\n"
      << "youmeyou_bus_relay_total{kind=\"gap_refilled\"} " << bus.relayGapsRefilled << "\n"
      << "youmeyou_bus_relay_total{kind=\"error\"} " << bus.relayErrors << "\n"
      << "# TYPE youmeyou_bus_relay_connected gauge\nyoumeyou_bus_relay_connected " << (bus.relayConnected ? 1 : 0)
      << "\n"
      << "# HELP youmeyou_websocket_frames_sent_total WebSocket frames written; with the write count, shows batching.\n"
      << "# TYPE youmeyou_websocket_frames_sent_total counter\nyoumeyou_websocket_frames_sent_total "
      << metrics_.webSocket.framesSent << "\n"
      << "# TYPE youmeyou_websocket_writes_total counter\nyoumeyou_websocket_writes_total " << metrics_.webSocket.writeCalls
      << "\n"
      << "# TYPE youmeyou_slow_clients_disconnected_total counter\nyoumeyou_slow_clients_disconnected_total "
      << metrics_.slowClientsDisconnected + metrics_.webSocket.slowDisconnected << "\n";
    cacheMetrics(m);
    const auto c = manager_.clusterStats();
    if (!options_.instanceId.empty()) {
      m << "# HELP youmeyou_leases_held Executions this instance runs under a lease.\n"
        << "# TYPE youmeyou_leases_held gauge\nyoumeyou_leases_held " << c.leasesHeld << "\n"
        << "# HELP youmeyou_takeovers_total Orphaned executions (their owner stopped renewing) resumed here.\n"
        << "# TYPE youmeyou_takeovers_total counter\nyoumeyou_takeovers_total " << c.takeovers << "\n"
        << "# HELP youmeyou_leases_lost_total Runs stopped here because another instance took them over.\n"
        << "# TYPE youmeyou_leases_lost_total counter\nyoumeyou_leases_lost_total " << c.lost << "\n"
        << "# HELP youmeyou_commands_forwarded_total Cancels and step modifications sent on to the instance running "
           "the execution.\n"
        << "# TYPE youmeyou_commands_forwarded_total counter\nyoumeyou_commands_forwarded_total " << metrics_.forwarded
        << "\n";
    }
    m << "# HELP youmeyou_store_pending_writes Writes of runs waiting for the store to come back.\n"
      << "# TYPE youmeyou_store_pending_writes gauge\nyoumeyou_store_pending_writes " << c.pendingWrites << "\n";
    if (auth_) {
      m << "# HELP youmeyou_auth_failures_total Requests refused for a missing, bad or expired token.\n"
        << "# TYPE youmeyou_auth_failures_total counter\nyoumeyou_auth_failures_total " << metrics_.authFailures << "\n"
        << "# HELP youmeyou_rate_limited_total Requests refused by a rate limit or quota.\n"
        << "# TYPE youmeyou_rate_limited_total counter\nyoumeyou_rate_limited_total " << metrics_.rateLimited << "\n";
    }
    if (const auto* redis = dynamic_cast<const auth::RedisLimiter*>(limiter_)) {
      const auto st = redis->stats();
      m << "# HELP youmeyou_rate_limit_decisions_total Rate limit decisions, by where they were made.\n"
        << "# TYPE youmeyou_rate_limit_decisions_total counter\n"
        << "youmeyou_rate_limit_decisions_total{by=\"redis\"} " << st.redisDecisions << "\n"
        << "youmeyou_rate_limit_decisions_total{by=\"fallback\"} " << st.fallbackDecisions << "\n"
        << "# TYPE youmeyou_rate_limit_redis_connected gauge\nyoumeyou_rate_limit_redis_connected "
        << (st.connected ? 1 : 0) << "\n";
    }
    return m.str();
  }

  // ---- Streaming ----

  std::shared_ptr<StreamQueue> openQueue(net::any_io_executor ex) {
    auto q = std::make_shared<StreamQueue>(ex, options_.streamQueueLimit);
    std::lock_guard lock(streamsMutex_);
    streams_.insert(q);
    return q;
  }
  void closeQueue(const std::shared_ptr<StreamQueue>& q) {
    std::lock_guard lock(streamsMutex_);
    streams_.erase(q);
  }

  // Where an execution's log stands: its last seq, and whether it has ended
  // (its executionSummary is logged, or its record is finished), in which
  // case nothing will ever follow that seq and a reader there should stop
  // waiting. The record is read before the log: when either says
  // finished, the last seq read after it is the log's final one.
  struct LogEnd {
    std::uint64_t lastSeq = 0;
    bool finished = false;
  };
  Result<LogEnd> logEnd(const std::string& id) {
    auto record = store_.getExecution(id);
    if (!record) return tl::unexpected(record.error());
    auto last = store::lastEvent(store_, id);
    if (!last) return tl::unexpected(last.error());
    return LogEnd{*last ? (*last)->seq : 0, record->status != store::ExecutionStatus::kRunning ||
                                                 (*last && (*last)->type == "executionSummary")};
  }

  net::awaitable<Response> longPoll(const Request& req, const Target& t) {
    Gauge open(metrics_.openLongPoll);
    const std::string id = t.segments[2];
    auto after = queryNumber(t, "after", 0, UINT64_MAX / 2);
    if (!after) co_return fromError(after.error(), req);
    auto wait = queryNumber(t, "wait", 0, static_cast<std::uint64_t>(options_.maxLongPollWait.count()));
    if (!wait) co_return fromError(wait.error(), req);
    auto limit = queryNumber(t, "limit", 500, 5000);
    if (limit && *limit == 0) limit = fail(ErrorCode::kInvalidArgument, "query parameter 'limit' must be at least 1");
    if (!limit) co_return fromError(limit.error(), req);
    // Where the log ends is read before the events, so an ended log's
    // events read next are complete through its end.
    auto end = logEnd(id);
    if (!end) co_return fromError(end.error(), req);
    // The log answers at once when it has events after `after`; otherwise a
    // subscription is only the wake-up, and the log is read again after it.
    // A finished execution has nothing more to wait for.
    auto events = store_.eventsAfter(id, *after, *limit);
    if (!events) co_return fromError(events.error(), req);
    if (events->empty() && *wait > 0 && !end->finished) {
      auto queue = std::make_shared<StreamQueue>(co_await net::this_coro::executor, *limit + 1);
      {
        std::lock_guard lock(streamsMutex_);
        streams_.insert(queue);
      }
      auto subscription = bus_.subscribe(id, *after, queue);
      if (subscription) {
        std::vector<bus::Published> ignored;
        co_await queue->next(ignored, std::chrono::seconds(*wait));
        subscription->reset();
      }
      closeQueue(queue);
      end = logEnd(id);  // it may have finished while we waited
      if (!end) co_return fromError(end.error(), req);
      events = store_.eventsAfter(id, *after, *limit);
      if (!events) co_return fromError(events.error(), req);
    }
    std::string body = "{\"events\":[";
    std::uint64_t next = *after;
    for (std::size_t i = 0; i < events->size(); ++i) {
      body += (i ? "," : "") + json::compact(toJson((*events)[i]));
      next = (*events)[i].seq;
    }
    // finished: the execution has ended and nothing follows `next`, so a
    // client can stop polling (it need not recognise the last event's type).
    const bool finished = end->finished && next >= end->lastSeq;
    body += "],\"next\":" + std::to_string(next) + ",\"finished\":" + (finished ? "true" : "false") + "}";
    Response res = textResponse(http::status::ok, std::move(body), "application/json", req);
    co_return res;
  }

  net::awaitable<void> serveSse(beast::tcp_stream& stream, const Request& req, const Target& t) {
    Gauge open(metrics_.openSse);
    const std::string id = t.segments[2];
    // The resume position: a reconnecting EventSource's Last-Event-ID header
    // wins over the URL's ?after= (which it repeats); either, when malformed,
    // is a 400 naming which one, as long poll does.
    auto after = queryNumber(t, "after", 0, UINT64_MAX / 2);
    if (after) {
      if (auto it = req.find("Last-Event-ID"); it != req.end() && !it->value().empty()) {
        after = parseNumber(it->value(), "header 'Last-Event-ID'", UINT64_MAX / 2);
      }
    }
    if (!after) {
      co_await write(stream, fromError(after.error(), req));
      co_return;
    }
    if (auto record = store_.getExecution(id); !record) {
      co_await write(stream, fromError(record.error(), req));
      co_return;
    }
    auto queue = openQueue(co_await net::this_coro::executor);
    auto subscription = bus_.subscribe(id, *after, queue);
    if (!subscription) {
      closeQueue(queue);
      co_await write(stream, fromError(subscription.error(), req));
      co_return;
    }
    http::response<http::empty_body> head{http::status::ok, req.version()};
    head.set(http::field::content_type, "text/event-stream");
    head.set(http::field::cache_control, "no-cache");
    head.set(http::field::connection, "keep-alive");
    head.set("X-Accel-Buffering", "no");
    http::response_serializer<http::empty_body> serializer(head);
    stream.expires_never();
    auto [hec, hn] = co_await http::async_write_header(stream, serializer, nothrow);
    bool alive = !hec;
    // A client already at (or past) the end of a finished execution's log
    // gets what is left, nothing, and the stream ends as it does after a
    // live run's executionSummary; otherwise it would get heartbeats
    // forever. Checked after subscribing, so a run finishing in between
    // delivers its summary instead. (Past the end of a running one needs
    // nothing: the bus puts such a subscriber at the end of the log, so it
    // gets the next events and the summary.)
    if (alive) {
      if (auto end = logEnd(id); end && end->finished && *after >= end->lastSeq) alive = false;
    }
    std::vector<bus::Published> events;
    while (alive) {
      auto next = co_await queue->next(events, options_.heartbeat);
      std::string chunk;
      if (next == StreamQueue::Next::kEvents) {
        bool final = false;
        for (const auto& e : events) {
          chunk += "id: " + std::to_string(e.seq) + "\ndata: " + *e.json + "\n\n";
          final = final || e.final;
        }
        auto [ec, n] = co_await net::async_write(stream.socket(), net::buffer(chunk), nothrow);
        alive = !ec && !final;
      } else if (next == StreamQueue::Next::kHeartbeat) {
        chunk = ": heartbeat\n\n";
        auto [ec, n] = co_await net::async_write(stream.socket(), net::buffer(chunk), nothrow);
        alive = !ec;
      } else {
        if (next == StreamQueue::Next::kOverflow) ++metrics_.slowClientsDisconnected;
        chunk = "event: close\ndata: {\"reason\":" +
                boost::json::serialize(boost::json::value(next == StreamQueue::Next::kOverflow
                                                              ? std::string("send queue full: the client is not reading")
                                                              : queue->reason())) +
                "}\n\n";
        co_await net::async_write(stream.socket(), net::buffer(chunk), nothrow);
        alive = false;
      }
    }
    subscription->reset();
    closeQueue(queue);
  }

  // Beast does the upgrade (it checks the request and answers it); then the
  // socket goes to the shard's WebSocket connections.
  net::awaitable<void> serveWebSocket(IoShard& shard, beast::tcp_stream stream, beast::flat_buffer& buffer, Request req,
                                      const Target& t, std::string owner) {
    // The clientId is echoed in text frames, which must be UTF-8: a client's
    // invalid one is refused before the upgrade, and a long one is cut to
    // 128 bytes on a character boundary, never inside a character.
    std::string clientId;
    if (auto it = t.query.find("clientId"); it != t.query.end() && !it->second.empty()) {
      if (!ws::validUtf8(it->second)) {
        co_await write(stream, errorResponse(http::status::bad_request, "invalid_argument",
                                             "query parameter 'clientId' is not valid UTF-8 (percent-encode its "
                                             "UTF-8 bytes)",
                                             req));
        boost::system::error_code ignored;
        stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
        co_return;
      }
      clientId = std::string(ws::utf8Prefix(it->second, 128));
    } else {
      clientId = store::newId("client");
    }
    websocket::stream<beast::tcp_stream> upgrade(std::move(stream));
    beast::get_lowest_layer(upgrade).expires_after(options_.readTimeout);
    auto [ec] = co_await upgrade.async_accept(req, nothrow);
    if (ec) co_return;
    beast::get_lowest_layer(upgrade).expires_never();
    const std::string leftover = beast::buffers_to_string(buffer.data());  // bytes sent right after the request
    shard.ws->adopt(beast::get_lowest_layer(upgrade).release_socket(), clientId, std::move(owner),
                    json::compact(boost::json::object{{"type", "connected"}, {"clientId", clientId}}), leftover);
  }

  // {"type":"subscribe","executionId":...,"after":SEQ} / {"type":"unsubscribe",...} / {"type":"ping"}
  void onText(ws::Connection& connection, std::string_view text) override {
    auto reply = [&](const boost::json::object& o) { connection.sendText(json::compact(o)); };
    auto parsed = json::parse(text, "message");
    if (!parsed) {
      reply({{"type", "error"}, {"message", parsed.error().message}});
      return;
    }
    auto message = json::guarded([&] {
      json::Reader r(*parsed, "message");
      // "after" is a seq, as SSE's and long poll's: a negative one must not
      // wrap around to a huge unsigned position.
      std::uint64_t after = 0;
      if (auto a = r.find("after")) {
        const std::int64_t v = a->integer();
        if (v < 0) a->fail("must be a whole number, 0 or more");
        after = static_cast<std::uint64_t>(v);
      }
      return std::make_tuple(r.at("type").str(), r.strOr("executionId", ""), after);
    });
    if (!message) {
      reply({{"type", "error"}, {"message", message.error().message}});
      return;
    }
    auto [type, executionId, after] = *message;
    auto& subscriptions = connection.subscriptions();
    if (type == "ping") {
      reply({{"type", "pong"}});
    } else if (type == "subscribe") {
      auto record = store_.getExecution(executionId);
      if (record && auth_ && record->ownerId != connection.owner()) {
        record = tl::unexpected(Error(ErrorCode::kNotFound, "execution " + executionId + " not found"));
      }
      if (!record) {
        reply({{"type", "error"}, {"executionId", executionId}, {"message", record.error().message}});
        return;
      }
      subscriptions.erase(executionId);  // a re-subscribe replaces the old one
      auto sub = bus_.subscribe(executionId, after, connection.shared_from_this());
      if (!sub) {
        reply({{"type", "error"}, {"executionId", executionId}, {"message", sub.error().message}});
        return;
      }
      subscriptions[executionId] = std::move(*sub);
    } else if (type == "unsubscribe") {
      subscriptions.erase(executionId);
    } else {
      reply({{"type", "error"}, {"message", "unknown message type '" + type + "' (subscribe, unsubscribe, ping)"}});
    }
  }

  ServerOptions options_;  // constant once started (start() fills in the advertised address)
  const engine::Engine& engine_;
  store::Store& store_;
  cache::DesignCache* const cache_;   // null: caching off
  auth::AuthService* const auth_;     // null: auth off
  auth::RateLimiter* const limiter_;  // null: no rate limits
  const auth::TierTable* const tiers_;
  SystemClock clock_;
  bus::EventBus bus_;
  ExecutionManager manager_;
  Metrics metrics_;
  std::vector<std::unique_ptr<IoShard>> shards_;
  std::optional<tcp::acceptor> acceptor_;  // on the first shard
  std::vector<std::thread> threads_;
  unsigned short port_ = 0;
  std::atomic<bool> stopping_{false};
  std::mutex streamsMutex_;
  std::set<std::shared_ptr<StreamQueue>> streams_;  // guarded by streamsMutex_
};

Server::Server(ServerOptions options, const engine::Engine& engine, store::Store& store, ServerServices services)
    : impl_(std::make_unique<Impl>(std::move(options), engine, store, services)) {}
Server::~Server() = default;
Result<unsigned short> Server::start() { return impl_->start(); }
void Server::stop(const std::string& reason) { impl_->stop(reason); }
void Server::wait() { impl_->wait(); }

}  // namespace ymy::server
